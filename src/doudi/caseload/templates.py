"""Downloadable XLSX templates for every import: Chinese headers (each accepted by its import) and an example row."""

from __future__ import annotations

from datetime import date

from doudi.caseload import importer as enrollments
from doudi.core.excel import Col, Sheet, to_bytes
from doudi.core.ids import build_id_number
from doudi.registry import facts_import as facts
from doudi.registry.import_read import COLUMNS as HOUSEHOLD_COLUMNS
from doudi.registry.import_read import HEADER_ALIASES

EXAMPLE_ID = build_id_number("370784", date(1970, 5, 1), 11, "M")
HOUSEHOLD_EXAMPLE = {"household_no": "370784001000001", "area_code": "370784001201", "address": "新安街道东村 12 号",
                     "hukou_type": "农村", "relation": "户主", "name": "王建国", "id_number": EXAMPLE_ID,
                     "sex": "男", "birth_date": "1970-05-01", "labour_capacity": "部分",
                     "member_since": "1995-10-01"}
EXAMPLES: dict[str, dict[str, str]] = {
    "income": {"household_no": "370784001000001", "id_number": EXAMPLE_ID, "kind": "工资性收入",
               "month": "2026-09", "amount": "1800", "source": "申报"},
    "assets": {"household_no": "370784001000001", "id_number": EXAMPLE_ID, "kind": "住房", "quantity": "1",
               "value": "180000", "description": "住房 86㎡ 东村",
               "certificate_no": "鲁(2019)安丘市不动产权第0001234号",
               "exempt": "否", "as_of": "2026-10-31", "source": "申报"},
    "expenses": {"household_no": "370784001000001", "id_number": EXAMPLE_ID, "kind": "医疗",
                 "period_start": "2025-11-01", "period_end": "2026-10-31", "amount": "12600", "source": "入户调查",
                 "investigator": "张三", "investigated_on": "2026-11-02"},
    "living": {"household_no": "370784001000001", "kind": "住房状况", "value": "危房",
               "observed_on": "2026-10-31"},
    "enrollments": {"household_no": "370784001000001", "id_number": "", "program": "低保", "monthly_amount": "650",
                    "level": "", "start_month": "2022-04", "next_review_on": "2027-04-01",
                    "decision_date": "2022-03-20",
                    "decision_no": "安民救〔2022〕1号"},
    "areas": {"code": "370784001", "name": "新安街道"},
}
KINDS = {"households": "家庭档案", "income": "收入", "assets": "财产", "expenses": "刚性支出", "living": "居住条件",
         "enrollments": "存量保障对象", "areas": "行政区划"}


def columns(kind: str) -> list[tuple[str, str]]:
    """(column key, Chinese header) of an import, in template order."""
    if kind == "households":
        labels = {v: k for k, v in reversed(list(HEADER_ALIASES.items()))}
        return [(c, labels.get(c, c)) for c in HOUSEHOLD_COLUMNS]
    if kind in facts.FACT_COLUMNS:
        required, optional = facts.FACT_COLUMNS[kind]
        labels = {**facts.COLUMN_LABELS, **({"value": "情况"} if kind == "living" else {})}
        return [(c, labels[c]) for c in required + optional]
    if kind == "enrollments":
        return [(c, enrollments.COLUMN_LABELS[c]) for c in enrollments.REQUIRED + enrollments.OPTIONAL]
    if kind == "areas":
        return [("code", "区划代码"), ("name", "名称")]
    raise KeyError(kind)


def template_xlsx(kind: str) -> bytes:
    """The template workbook: one header row in Chinese and one example row."""
    cols = columns(kind)
    example = HOUSEHOLD_EXAMPLE if kind == "households" else EXAMPLES[kind]
    sheet = Sheet(KINDS[kind], [Col(label, 16) for _k, label in cols], [[example.get(k, "") for k, _l in cols]])
    return to_bytes(sheet)
