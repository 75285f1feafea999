"""Load one request's facts into frames, compute the 核对报告, and export it as PDF (WeasyPrint) or Excel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.core.masking import mask_id
from doudi.db.frames import read_frame
from doudi.policy.params import load_pack
from doudi.registry.models import AssetFact, Household, IncomeFact
from doudi.registry.service import current_members
from doudi.registry.vocab import LABELS, label
from doudi.verification import facts as facts_mod
from doudi.verification import report as rpt
from doudi.verification.models import VerificationRequest
from doudi.verification.service import get_request, tracking
from doudi.verification.sources import load_sources
from doudi.web.render import templates


@dataclass
class HouseholdReport:
    """A computed report with what is needed to print it."""

    request: VerificationRequest
    household: Household
    names: dict[int, str]
    id_numbers: dict[int, str]
    report: rpt.Report
    tracks: list[Any]
    params: rpt.ReportParams

    @property
    def conclusion(self) -> str:
        """This household's conclusion."""
        return self.report.conclusions.get(self.household.id, "")


def report_params(area_code: str, on: date) -> rpt.ReportParams:
    """The comparison's rule inputs in force for an area on a date (from its policy pack)."""
    pack = load_pack(area_code)
    return rpt.ReportParams(tuple(pack.value("dibao.income.counted_kinds", on=on)),
                            float(pack.value("verification.income_tolerance_ratio", on=on)),
                            float(pack.value("verification.income_tolerance_yuan", on=on)))


STATUS_SCHEMA = {"household_id": pl.Int64, "person_id": pl.Int64, "source_key": pl.Utf8, "finding": pl.Utf8}


def _labelled(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).replace(LABELS).fill_null("")


def _day(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m-%d").fill_null("None")


def statuses(feed: facts_mod.Feed, members: pl.DataFrame) -> pl.DataFrame:
    """Status findings worth a caseworker's attention (death, disability, schooling, unemployment, hukou), one
    row per feed row, over frames: `members` maps person_id → household_id."""
    rules: dict[str, tuple[pl.Expr, pl.Expr]] = {  # source → (which rows, the finding)
        "death": (pl.lit(True), pl.format("部门记录显示已死亡（{}，{}）", _day("date_of_death"),
                                          _labelled("record_kind"))),
        "hukou": (pl.col("status").is_in(["moved_out", "cancelled"]),
                  pl.format("户籍状态为 {}（{}）", pl.when(pl.col("status") == "moved_out").then(pl.lit("迁出"))
                            .otherwise(pl.lit("注销")), _day("updated_on"))),
        "disability": (pl.lit(True), pl.format("持残疾人证：{}{}级", _labelled("category"),
                                                pl.col("grade").cast(pl.Utf8).fill_null("None"))),
        "school": (pl.col("status") == "enrolled", pl.format("在读：{}", pl.col("school").fill_null("None"))),
        "unemployment": (pl.col("status") == "registered", pl.format("失业登记（{}）", _day("registered_on"))),
    }
    parts = [frame.filter(which).join(members, on="person_id").select(
        "household_id", "person_id", "source_key", finding.alias("finding"))
        for key, frame in feed.items() if key in rules for which, finding in [rules[key]]]
    return pl.concat(parts).cast(STATUS_SCHEMA) if parts else pl.DataFrame(schema=STATUS_SCHEMA)  # type: ignore[arg-type]


INCOME_SCHEMA = {"household_id": pl.Int64, "person_id": pl.Int64, "source_key": pl.Utf8, "kind": pl.Utf8,
                 "amount": pl.Float64, "period_start": pl.Date, "period_end": pl.Date}
ASSET_SCHEMA = {"household_id": pl.Int64, "person_id": pl.Int64, "source_key": pl.Utf8, "kind": pl.Utf8,
                "quantity": pl.Int64, "value": pl.Float64, "exempt": pl.Boolean, "description": pl.Utf8}


def _income(session: Session, household_id: int, source_kind: str) -> pl.DataFrame:
    f = IncomeFact
    source = literal("declared") if source_kind == "declared" else f.source_key
    stmt = select(f.household_id, f.person_id, source, f.kind, f.amount, f.period_start, f.period_end).where(
        f.household_id == household_id, f.source_kind == source_kind, f.superseded_by.is_(None))
    return read_frame(session, stmt, schema=INCOME_SCHEMA)


def _assets(session: Session, household_id: int, source_kind: str) -> pl.DataFrame:
    f = AssetFact
    stmt = select(f.household_id, f.person_id, func.coalesce(f.source_key, source_kind), f.kind, f.quantity,
                  f.value, f.exempt, f.description).where(
        f.household_id == household_id, f.source_kind == source_kind, f.superseded_by.is_(None))
    return read_frame(session, stmt, schema=ASSET_SCHEMA)


def build_report(session: Session, *, actor: Actor, request_id: int) -> HouseholdReport:
    """Everything the 核对报告 shows for one request: facts read as frames (db.frames), compared by the pure
    `report.compute`."""
    actor.require("verification.read")
    req = get_request(session, actor=actor, request_id=request_id)
    hh = session.get(Household, req.household_id)
    assert hh is not None
    members = current_members(hh)
    pids = [m.person_id for m in members]
    names = {m.person_id: m.person.name for m in members}
    ids = {m.person_id: m.person.id_number for m in members}
    member_frame = pl.DataFrame({"household_id": [hh.id] * len(pids), "person_id": pids,
                                 "name": list(names.values())},
                                schema={"household_id": pl.Int64, "person_id": pl.Int64, "name": pl.Utf8})
    feed = facts_mod.load_feed(session, person_ids=pids)
    params = report_params(req.area_code, req.requested_on)
    computed = rpt.compute(
        members=member_frame, declared_income=_income(session, hh.id, "declared"),
        verified_income=_income(session, hh.id, "feed"), declared_assets=_assets(session, hh.id, "declared"),
        verified_assets=_assets(session, hh.id, "feed"),
        statuses=statuses(feed, member_frame.select("person_id", "household_id")),
        period_start=req.period_start, period_end=req.period_end, params=params)
    _, tracks = tracking(session, actor=actor, request_id=request_id)
    return HouseholdReport(req, hh, names, ids, computed, tracks, params)


def report_context(hr: HouseholdReport) -> dict[str, Any]:
    """Template context shared by the console page and the PDF."""
    sources = load_sources()
    r = hr.report
    months = [m.strftime("%Y-%m") for m in r.months]
    grid: dict[tuple[int, str, str], dict[str, float]] = {}
    for row in r.income_by_month.iter_rows(named=True):
        grid.setdefault((row["person_id"], row["source_key"], row["kind"]), {})[row["month"].strftime("%Y-%m")] = \
            row["amount"]
    income_rows = [{"name": hr.names.get(p, str(p)), "source": sources[s].label if s in sources else s,
                    "kind": label(k), "by_month": [v.get(m) for m in months], "total": sum(v.values())}
                   for (p, s, k), v in sorted(grid.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2]))]
    return {
        "hr": hr, "req": hr.request, "hh": hr.household, "months": months, "income_rows": income_rows,
        "compare": [dict(row, name=hr.names.get(row["person_id"], ""))
                    for row in r.income_compare.iter_rows(named=True)],
        "totals": r.totals.row(0, named=True) if r.totals.height else None,
        "assets": list(r.asset_compare.iter_rows(named=True)),
        "statuses": [dict(row, name=hr.names.get(row["person_id"], "")) for row in r.statuses.iter_rows(named=True)],
        "discrepancies": [dict(row, name=hr.names.get(row["person_id"] or 0, "家庭"))
                          for row in r.discrepancies.iter_rows(named=True)],
        "members": [(hr.names[p], mask_id(hr.id_numbers[p])) for p in hr.names],
        "conclusion": hr.conclusion, "tracks": hr.tracks, "params": hr.params,
    }


def report_pdf(session: Session, *, actor: Actor, request_id: int) -> bytes:
    """The report as PDF (Noto CJK fonts render the Chinese text); the export is audited."""
    # Imported here: WeasyPrint (and its font stack) is loaded only when a PDF is rendered.
    from weasyprint import HTML

    actor.require("verification.report")
    hr = build_report(session, actor=actor, request_id=request_id)
    html = templates.get_template("verification/report_print.html").render(report_context(hr))
    audit.record(session, actor=actor, action="verification.report_export", object_type="verification_request",
                 object_id=request_id, area_code=hr.request.area_code, extra={"format": "pdf"})
    return bytes(HTML(string=html).write_pdf())


def report_xlsx(session: Session, *, actor: Actor, request_id: int) -> bytes:
    """The report as an Excel workbook, one sheet per table (the shared, formula-safe writer); audited."""
    # Imported here: openpyxl is loaded only when an Excel file is read or written.
    from doudi.core.excel import Col, Sheet, to_bytes

    actor.require("verification.report")
    hr = build_report(session, actor=actor, request_id=request_id)
    ctx = report_context(hr)
    yuan = "#,##0.00"
    summary = Sheet("结论", [Col("项目", 12), Col("内容", 60)], [
        ["户编号", hr.household.household_no],
        ["核对期间", f"{hr.request.period_start} 至 {hr.request.period_end}"],
        ["提请日期", str(hr.request.requested_on)],
        ["结论", hr.conclusion]], caption="家庭经济状况核对报告")
    income = Sheet("分月收入", [Col("成员", 12), Col("来源", 12), Col("项目", 12),
                              *[Col(str(m), 10, number_format=yuan) for m in ctx["months"]],
                              Col("合计", 12, number_format=yuan)],
                   [[r["name"], r["source"], r["kind"], *r["by_month"], r["total"]] for r in ctx["income_rows"]])
    compare = Sheet("收入比对", [Col("成员", 12), Col("项目", 14), Col("是否计入", 8),
                              Col("申报月均(元)", 14, number_format=yuan), Col("核对月均(元)", 14, number_format=yuan),
                              Col("差额(元)", 12, number_format=yuan), Col("需说明", 8)],
                    [[c["name"], label(c["kind"]), "是" if c["counted"] else "否", c["declared"], c["verified"],
                      c["difference"], "是" if c["flagged"] else ""] for c in ctx["compare"]])
    assets = Sheet("财产比对", [Col("项目", 14), Col("申报数量", 10), Col("核对数量", 10),
                             Col("申报价值(元)", 14, number_format=yuan), Col("核对价值(元)", 14, number_format=yuan),
                             Col("需说明", 8)],
                   [[label(a["kind"]), a["declared_count"], a["verified_count"], a["declared_value"],
                     a["verified_value"] if a["verified_value"] is not None else "部门数据无估值",
                     "是" if a["flagged"] else ""] for a in ctx["assets"]])
    categories = {"income": "收入", "asset": "财产", "status": "状态"}
    differences = Sheet("差异", [Col("类别", 8), Col("成员", 12), Col("项目", 14), Col("申报", 14), Col("核对", 14),
                               Col("差额", 14)],
                        [[categories[d["category"]], d["name"], label(d["item"]), d["declared"], d["verified"],
                          d["difference"]] for d in ctx["discrepancies"]])
    tracks = Sheet("核对进度", [Col("数据源", 16), Col("部门", 16), Col("状态", 8), Col("记录数", 8),
                             Col("反馈时间", 18), Col("说明", 30)],
                   [[t.label, t.agency, t.status_label, t.records,
                     clock.shown(t.answered_at), t.message]
                    for t in ctx["tracks"]])
    data = to_bytes(summary, income, compare, assets, differences, tracks)
    audit.record(session, actor=actor, action="verification.report_export", object_type="verification_request",
                 object_id=request_id, area_code=hr.request.area_code, extra={"format": "xlsx"})
    return data


def download(session: Session, *, actor: Actor, request_id: int, kind: str) -> tuple[bytes, str, str]:
    """The report as `pdf` or `xlsx`: (bytes, media type, file name) — shared by the API and the console."""
    if kind == "pdf":
        return report_pdf(session, actor=actor, request_id=request_id), "application/pdf", \
            f"verification-{request_id}.pdf"
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return report_xlsx(session, actor=actor, request_id=request_id), media, f"verification-{request_id}.xlsx"
