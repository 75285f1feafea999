"""Caseload import: facts (quarantine, keys, corrections, scope, preview, crash), dated memberships, recipients."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import Actor, system_actor
from doudi.caseload.flows import check_caseload
from doudi.caseload.importer import import_enrollments
from doudi.caseload.models import MigratedEnrollment
from doudi.cases import applications
from doudi.cases.evaluation import evaluate_household
from doudi.cases.models import Enrollment
from doudi.cases.schemas import ApplicationCreate
from doudi.ingest.models import RejectedRow
from doudi.monitoring.models import MonitorWarning
from doudi.policy.registry_frames import read_registry
from doudi.registry.facts_import import import_facts
from doudi.registry.import_read import ImportFileError
from doudi.registry.importer import import_households
from doudi.registry.models import AssetFact, IncomeFact, Membership
from doudi.registry.preview import preview
from tests.factories import VILLAGE_B1, make_areas
from tests.registry.helpers import HEADER, VILLAGE, family, pid, row, write_csv

ACTOR = system_actor(name="test-caseload")
TODAY = date(2026, 11, 15)
HEAD, SPOUSE, CHILD = pid(date(1970, 5, 1), 11, "M"), pid(date(1972, 3, 8), 12, "F"), pid(date(2000, 9, 1), 13, "M")
OTHER_HEAD = pid(date(1960, 1, 1), 31, "M")


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _registry(db: Session, tmp: Path) -> None:
    """H1 (village A1): 王建国, 李秀英 since 2015-03-01, 王小明 (no date); H2 (village B1): 孙强."""
    make_areas(db)
    rows = [*family("H1"), row("H2", "head", "孙强", date(1960, 1, 1), "M", 31, area_code=VILLAGE_B1)]
    rows[1]["member_since"] = "2015-03-01"
    result = import_households(db, actor=ACTOR, path=write_csv(tmp / "h.csv", rows, [*HEADER, "member_since"]),
                               today=TODAY)
    assert result.rows_rejected == 0


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_income_with_chinese_headers_keeps_good_rows_and_quarantines_bad_ones(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    header = ["户编号", "身份证号", "收入类别", "月份", "金额", "来源", "调查人", "调查日期"]
    path = _write(tmp_path / "income.csv", header, [
        ["H1", HEAD, "wage", "2026-09", "2,500", "申报", "", ""],                 # row 2: good (comma grouping)
        ["H1", HEAD, "工资性收入", "2026-10", "2500", "", "", ""],                  # row 3: good (label, no source)
        ["H1", SPOUSE, "transfer", "2026-10", "300", "入户调查", "张三", "2026-11-02"],  # row 4: good, investigated
        ["H1", OTHER_HEAD, "wage", "2026-10", "100", "", "", ""],                  # row 5: not a member of H1
        ["H1", SPOUSE, "wage", "2026-13", "100", "", "", ""],                      # row 6: bad month
        ["H1", CHILD, "wage", "2026-10", "-5", "", "", ""],                        # row 7: negative amount
        ["H9", "", "wage", "2026-10", "100", "", "", ""],                          # row 8: unknown household
        ["H1", SPOUSE, "transfer", "2026-09", "300", "入户调查", "", ""],            # row 9: investigator missing
        ["H1", HEAD, "wage", "2026-09", "2500", "", "", ""],                       # row 10: a second item like row 2
    ])
    result = import_facts(db, actor=ACTOR, kind="income", path=path)
    assert (result.rows_total, result.rows_ok, result.rows_rejected, result.new) == (9, 4, 5, 4)
    reasons = {(r.row_number, r.field, r.reason) for r in db.scalars(select(RejectedRow))}
    assert reasons == {
        (5, "id_number", f"身份证号 {OTHER_HEAD} 不是户 H1 的现有成员"),
        (6, "month", "月份 2026-13 无效，应为 YYYY-MM"),
        (7, "amount", "金额 -5 不能为负数"),
        (8, "household_no", "户编号 H9 不在家庭档案中（或不在您的管辖范围内）"),
        (9, "investigator", "入户调查的事实须填写调查人"),
        (9, "investigated_on", "入户调查的事实须填写有效的调查日期（YYYY-MM-DD）"),
    }
    facts = db.scalars(select(IncomeFact).order_by(IncomeFact.id)).all()
    assert [(f.kind, f.amount, f.period_start, f.period_end, f.source_kind) for f in facts] == [
        ("wage", Decimal("2500.00"), date(2026, 9, 1), date(2026, 9, 30), "declared"),
        ("wage", Decimal("2500.00"), date(2026, 10, 1), date(2026, 10, 31), "declared"),
        ("transfer", Decimal("300.00"), date(2026, 10, 1), date(2026, 10, 31), "investigated"),
        ("wage", Decimal("2500.00"), date(2026, 9, 1), date(2026, 9, 30), "declared"),
    ]
    assert (facts[2].investigator, facts[2].investigated_on) == ("张三", date(2026, 11, 2))
    assert facts[3].fact_key == f"H1|{HEAD}|wage|2026-09-01|2026-09-30|declared||#2"
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "registry.import_facts")).one()
    assert '"rows_rejected": 5' in json.dumps(audit.changes) and audit.object_id == str(result.batch_id)


def test_reimport_is_idempotent_and_a_correction_supersedes(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    header = ["household_no", "id_number", "kind", "month", "amount"]
    first = [["H1", HEAD, "wage", "2026-09", "2500"], ["H1", HEAD, "wage", "2026-10", "2500"]]
    import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "a.csv", header, first))
    same = import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "a.csv", header, first))
    assert same.duplicate_of is not None and _count(db, IncomeFact) == 2
    # Same rows in another order plus a corrected October: one unchanged, one superseded, nothing overwritten.
    corrected = [["H1", HEAD, "wage", "2026-10", "2600"], ["H1", HEAD, "wage", "2026-09", "2500"]]
    again = import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "b.csv", header, corrected))
    assert (again.new, again.superseded, again.unchanged) == (0, 1, 1)
    rows = db.execute(select(IncomeFact.id, IncomeFact.amount, IncomeFact.superseded_by)
                      .where(IncomeFact.period_start == date(2026, 10, 1)).order_by(IncomeFact.id)).all()
    assert [(r.amount, r.superseded_by) for r in rows] == [(Decimal("2500.00"), rows[1].id),
                                                           (Decimal("2600.00"), None)]


def test_assets_duplicate_certificates_are_quarantined(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    header = ["户编号", "身份证号", "资产类别", "数量", "价值", "证书号", "登记日期"]
    import_facts(db, actor=ACTOR, kind="assets", path=_write(tmp_path / "h2.csv", header, [
        ["H2", OTHER_HEAD, "residential_property", "1", "300000", "鲁(2020)安丘市不动产权第0000001号", "2026-10-31"]]))
    result = import_facts(db, actor=ACTOR, kind="assets", path=_write(tmp_path / "h1.csv", header, [
        ["H1", HEAD, "住房", "1", "200000", "鲁(2019)安丘市不动产权第0000002号", "2026-10-31"],   # row 2
        ["H1", SPOUSE, "住房", "1", "200000", "鲁(2019)安丘市不动产权第0000002号", "2026-10-31"],  # row 3: same cert
        ["H1", HEAD, "住房", "1", "300000", "鲁(2020)安丘市不动产权第0000001号", "2026-10-31"],   # row 4: H2's cert
        ["H1", HEAD, "financial", "1", "5000", "", "2026-10-31"],                            # row 5: good
    ]))
    assert (result.rows_ok, result.rows_rejected) == (1, 3)
    reasons = {(r.row_number, r.field, r.reason) for r in db.scalars(select(RejectedRow).where(
        RejectedRow.batch_id == result.batch_id))}
    assert reasons == {
        (2, "certificate_no", "证书号 鲁(2019)安丘市不动产权第0000002号 在文件中重复（第 2、3 行）"),
        (3, "certificate_no", "证书号 鲁(2019)安丘市不动产权第0000002号 在文件中重复（第 2、3 行）"),
        (4, "certificate_no", "证书号 鲁(2020)安丘市不动产权第0000001号 已登记在另一户名下（户编号 H2）"),
    }
    assert _count(db, AssetFact) == 2


def test_an_import_cannot_write_outside_the_users_area(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    town_a = Actor(username="town", area_code="370784001", roles=frozenset({"township_caseworker"}), system=False)
    path = _write(tmp_path / "i.csv", ["household_no", "id_number", "kind", "month", "amount"],
                  [["H1", HEAD, "wage", "2026-10", "1000"], ["H2", OTHER_HEAD, "wage", "2026-10", "1000"]])
    result = import_facts(db, actor=town_a, kind="income", path=path)
    assert (result.rows_ok, result.rows_rejected) == (1, 1)
    assert result.rejects["reason"].to_list() == ["户编号 H2 不在家庭档案中（或不在您的管辖范围内）"]


def test_preview_writes_nothing_and_a_crash_leaves_no_partial_state(
        db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _registry(db, tmp_path)
    path = _write(tmp_path / "i.csv", ["household_no", "id_number", "kind", "month", "amount"],
                  [["H1", HEAD, "wage", "2026-10", "1000"], ["H1", HEAD, "wage", "2026-13", "1000"]])
    shown = preview(db, lambda: import_facts(db, actor=ACTOR, kind="income", path=path))
    assert (shown.rows_ok, shown.rows_rejected) == (1, 1)
    assert _count(db, IncomeFact) == 0 and _count(db, RejectedRow) == 0

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    # The facts are written, then the quarantine fails: the caller's transaction rolls back as a whole.
    monkeypatch.setattr("doudi.registry.facts_import._quarantine", boom)
    with pytest.raises(RuntimeError):
        preview(db, lambda: import_facts(db, actor=ACTOR, kind="income", path=path))
    assert _count(db, IncomeFact) == 0


def test_xlsx_and_parquet_are_read_and_bad_headers_named(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["户编号", "类别", "值", "查看日期"])
    ws.append(["H1", "住房状况", "dilapidated", date(2026, 10, 31)])
    wb.save(tmp_path / "living.xlsx")
    assert import_facts(db, actor=ACTOR, kind="living", path=tmp_path / "living.xlsx").rows_ok == 1
    pl.DataFrame({"household_no": ["H1"], "id_number": [CHILD], "kind": ["medical"], "amount": [1200.0],
                  "period_start": [date(2026, 1, 1)], "period_end": [date(2026, 10, 31)]}).write_parquet(
        tmp_path / "e.parquet")
    assert import_facts(db, actor=ACTOR, kind="expenses", path=tmp_path / "e.parquet").new == 1
    _write(tmp_path / "x.csv", ["户编号", "金额"], [["H1", "1"]])
    with pytest.raises(ImportFileError, match="表头缺少必需列：kind"):
        import_facts(db, actor=ACTOR, kind="income", path=tmp_path / "x.csv")


def test_memberships_carry_ledger_dates_or_count_from_before_the_import(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    spans = {(m.valid_from, m.valid_from_known) for m in db.scalars(select(Membership))}
    # 李秀英 since 2015-03-01 (given); the others from birth, flagged as unknown.
    assert spans == {(date(1970, 5, 1), False), (date(2015, 3, 1), True), (date(2000, 9, 1), False),
                     (date(1960, 1, 1), False)}
    frames = read_registry(db.connection(), on=date(2014, 6, 1))
    counts = frames.members.group_by("household_id").len()["len"].sort().to_list()
    assert counts == [1, 2]  # H2: 孙强; H1 before 李秀英 joined: 王建国 and 王小明
    # The decision says which counted members were taken as members from before the import.
    h1 = db.scalar(select(Membership.household_id).where(Membership.valid_from == date(2015, 3, 1)))
    assert h1 is not None
    result = evaluate_household(db, household_id=h1, on=date(2026, 1, 1))
    assert result["household"]["notes"] == [  # 成员1 王建国 (head) and 成员3 王小明 (child); 李秀英 has her date
        f"成员{i}（{rel}）的入户日期台账未载，按导入前即为本户成员计入（2026-01-01 的测算据此）"
        for i, rel in ((1, "户主"), (3, "子女"))]


def test_recipients_import_marks_migrated_and_quarantines_nonmembers(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    header = ["户编号", "身份证号", "项目", "月保障金额", "起始月份", "下次复核日期", "供养方式", "审批日期",
              "审批文号"]
    rows = [
        ["H1", "", "低保", "650", "2022-04", "2027-04-01", "", "2022-03-20", "安民救〔2022〕1号"],   # row 2: good
        ["H2", OTHER_HEAD, "特困", "960", "", "", "分散供养", "", ""],                            # row 3: no start
        ["H1", OTHER_HEAD, "extreme_poverty", "960", "2023-01", "", "", "", ""],               # row 4: not in H1
        ["H2", "", "extreme_poverty", "960", "2023-01", "", "", "", ""],                       # row 5: person missing
        ["H1", "", "dibao", "-1", "2023-01", "", "", "", ""],                                  # row 6: negative, dup
        ["H1", "", "dibao", "600", "2023-01", "", "集中供养", "", ""],                            # row 7: mode on 低保
    ]
    path = _write(tmp_path / "r.csv", header, rows)
    result = import_enrollments(db, actor=ACTOR, path=path, today=TODAY)
    assert (result.rows_ok, result.rows_rejected, result.new, result.start_unknown) == (2, 4, 2, 1)
    reasons = {(r.row_number, r.field, r.reason) for r in db.scalars(select(RejectedRow))}
    assert reasons == {
        (4, "id_number", f"身份证号 {OTHER_HEAD} 不是户 H1 的现有成员"),
        (5, "id_number", "该项目按人认定，须填写保障对象的身份证号"),
        (6, "monthly_amount", "金额 -1 不能为负数"),
        (6, "*", "与第 2 行重复（同一项目、同户、同人）"),
        (7, "support_mode", "只有特困供养登记供养方式"),
        (7, "*", "与第 2 行重复（同一项目、同户、同人）"),
    }
    got = db.execute(select(Enrollment.program, Enrollment.monthly_amount, Enrollment.start_month,
                            Enrollment.person_id.is_not(None), MigratedEnrollment.decision_no,
                            MigratedEnrollment.support_mode, MigratedEnrollment.start_known)
                     .join(MigratedEnrollment).order_by(Enrollment.program)).all()
    assert [tuple(r) for r in got] == [
        ("dibao", Decimal("650.00"), date(2022, 4, 1), False, "安民救〔2022〕1号", None, True),
        ("extreme_poverty", Decimal("960.00"), date(2026, 11, 1), True, "", "dispersed", False),
    ]
    # The same ledger with a new amount updates the same enrollment.
    rows[0][3] = "700"
    again = import_enrollments(db, actor=ACTOR, path=_write(tmp_path / "r2.csv", header, rows[:2]), today=TODAY)
    assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    assert db.scalar(select(Enrollment.monthly_amount).where(Enrollment.program == "dibao")) == Decimal("700.00")
    assert _count(db, Enrollment) == 2


def test_the_check_of_migrated_recipients_enters_the_monitoring_ledger(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    header = ["户编号", "身份证号", "项目", "月保障金额", "起始月份", "下次复核日期"]
    path = _write(tmp_path / "r.csv", header, [["H1", "", "低保", "650", "2022-04", "2027-04-01"]])
    assert import_enrollments(db, actor=ACTOR, path=path, today=TODAY).new == 1
    outcome = check_caseload(db, actor=ACTOR, on=TODAY)
    # H1 declares no income: the engine's 低保 for its 3 urban members is not the ledger's 650 a month.
    assert outcome.findings["household_no"].to_list() == ["H1"]
    h1 = db.scalar(select(Membership.household_id).where(Membership.valid_from == date(2015, 3, 1)))
    warnings = db.scalars(select(MonitorWarning).where(MonitorWarning.rule_key == "assessment_change")).all()
    assert [(w.household_id, w.status) for w in warnings] == [(h1, "new")] and outcome.warnings_new == 1
    assert "在保金额 650.00 元/月" in warnings[0].reason and warnings[0].due_on > TODAY
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "caseload.check")).one()
    counts: Any = entry.changes["_"]
    assert counts["findings"] == 1 and counts["warnings_new"] == 1
    # Checking again raises nothing new: the warning is open (one per rule and household).
    assert check_caseload(db, actor=ACTOR, on=TODAY).warnings_new == 0


def test_a_case_decision_names_members_counted_from_before_the_import(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    # 王建国 applies for H1 (found by his ID number); 李秀英 has a ledger date, the others have none.
    members = [{"name": n, "id_number": i, "relation": r, "authorised": True, "monthly_income": {"wage": "0"}}
               for n, i, r in (("王建国", HEAD, "head"), ("李秀英", SPOUSE, "spouse"), ("王小明", CHILD, "child"))]
    data = ApplicationCreate.model_validate({
        "area_code": VILLAGE, "hukou_type": "urban", "members": members, "applicant_name": "王建国",
        "applicant_id_number": HEAD})
    case = applications.accept(db, actor=ACTOR, case_id=applications.submit(db, actor=ACTOR, data=data).id,
                               on=TODAY)
    dibao = next(d for d in case.decisions if d.program == "dibao")
    assert [r for r in dibao.reasons if "入户日期台账未载" in r] == [
        f"成员{i}（{rel}）的入户日期台账未载，按导入前即为本户成员计入（{TODAY.isoformat()} 的测算据此）"
        for i, rel in ((1, "户主"), (3, "子女"))]
