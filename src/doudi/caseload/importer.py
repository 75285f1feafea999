"""`doudi import enrollments FILE`: a county's current recipients (存量对象) from its ledger.

One row per enrollment: the household and, for programs decided per person (特困, children's allowances,
disability subsidies), the person; the monthly amount, level, start month, next review, 渐退 end, 供养方式
and the original decision's date and number. Rows that fail a check are quarantined with row, field and
reason; the others become enrollments (status active, or gradual_exit with a 渐退 end) marked as migrated
through a `migrated_enrollments` row whose unique legacy key (program, household, person) makes a
re-import update the same enrollment instead of adding another. Everything goes through db.frames in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area
from doudi.caseload.models import MigratedEnrollment
from doudi.cases.models import Enrollment
from doudi.core import clock
from doudi.db.frames import write_frame
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.policy.programs import all_programs
from doudi.registry.facts_import import _date, _errors, _month, _number, _read_in
from doudi.registry.import_read import ROW, ImportFileError, read_columns
from doudi.registry.importer import file_sha256
from doudi.registry.models import Household, Membership, Person

SOURCE_KEY = "enrollments"
REQUIRED = ["household_no", "program", "monthly_amount"]
OPTIONAL = ["id_number", "level", "start_month", "next_review_on", "gradual_exit_until", "support_mode",
            "decision_date", "decision_no", "review_cycle_months"]
ALIASES = {
    "户编号": "household_no", "家庭编号": "household_no", "身份证号": "id_number", "身份证号码": "id_number",
    "保障对象身份证号": "id_number", "项目": "program", "救助项目": "program", "保障类别": "program",
    "月保障金额": "monthly_amount", "月发放金额": "monthly_amount", "保障金额": "monthly_amount",
    "金额": "monthly_amount", "档次": "level", "保障档次": "level", "分类施保": "level",
    "起始月份": "start_month", "保障起始月份": "start_month", "享受起始月份": "start_month",
    "下次复核日期": "next_review_on", "复核日期": "next_review_on", "渐退截止月份": "gradual_exit_until",
    "渐退截止": "gradual_exit_until", "供养方式": "support_mode", "审批日期": "decision_date",
    "原审批日期": "decision_date", "审批文号": "decision_no", "原审批文号": "decision_no",
    "复核周期（月）": "review_cycle_months", "复核周期": "review_cycle_months",
}
COLUMN_LABELS = {
    "household_no": "户编号", "id_number": "身份证号", "program": "项目", "monthly_amount": "月保障金额",
    "level": "档次", "start_month": "起始月份", "next_review_on": "下次复核日期", "gradual_exit_until": "渐退截止月份",
    "support_mode": "供养方式", "decision_date": "审批日期", "decision_no": "审批文号",
    "review_cycle_months": "复核周期（月）",
}
SUPPORT_MODES = {"centralized": "centralized", "dispersed": "dispersed", "集中供养": "centralized",
                 "分散供养": "dispersed", "集中": "centralized", "分散": "dispersed"}
REPORT_COLUMNS = [ROW, "field", "reason", "household_no", "id_number", "program"]


def programs() -> dict[str, tuple[str, bool]]:
    """Program key → (Chinese label, decided per person)."""
    return {p.key: (p.label, p.member_output is not None and p.key != "dibao") for p in all_programs()}


@dataclass
class EnrollmentImportResult:
    """What an enrollment import did (or would do, in a preview)."""

    file_name: str
    batch_id: int | None = None
    duplicate_of: int | None = None
    rows_total: int = 0
    rows_ok: int = 0
    rows_rejected: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    start_unknown: int = 0
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=dict.fromkeys(REPORT_COLUMNS, pl.Utf8)))
    warnings: list[str] = field(default_factory=list)


def _parse(frame: pl.DataFrame, today: date) -> pl.DataFrame:
    known = programs()
    spellings = {**{k: k for k in known}, **{label: k for k, (label, _p) in known.items()},
                 "低保": "dibao", "特困": "extreme_poverty", "特困供养": "extreme_poverty", "孤儿": "child_welfare",
                 "低保边缘": "dibao_marginal"}
    personal = [k for k, (_l, p) in known.items() if p]
    start = _month("start_month")
    return frame.with_columns(
        id_number_n=pl.col("id_number").str.to_uppercase().str.replace_all(r"\s", ""),
        program_key=pl.col("program").replace_strict(spellings, default=None),
        amount_p=_number("monthly_amount").round(2),
        start_p=start,
        review_p=_date("next_review_on"),
        exit_p=pl.coalesce(_month("gradual_exit_until"), _date("gradual_exit_until")),
        decision_p=_date("decision_date"),
        mode_p=pl.col("support_mode").replace_strict(SUPPORT_MODES, default=None),
        cycle_p=pl.col("review_cycle_months").cast(pl.Int64, strict=False),
    ).with_columns(personal=pl.col("program_key").is_in(personal),
                   today=pl.lit(today))


def _checks() -> list[tuple[str, pl.Expr]]:
    options = "、".join(f"{k}（{label}）" for k, (label, _p) in programs().items())
    return [
        *[(c, pl.when(pl.col(c).is_null()).then(pl.lit("必填字段为空"))) for c in REQUIRED],
        ("program", pl.when(pl.col("program").is_not_null() & pl.col("program_key").is_null())
         .then(pl.format("项目 {} 不在可选范围：{}", pl.col("program"), pl.lit(options)))),
        ("id_number", pl.when(pl.col("personal") & pl.col("id_number").is_null())
         .then(pl.lit("该项目按人认定，须填写保障对象的身份证号"))),
        ("monthly_amount", pl.when(pl.col("monthly_amount").is_not_null() & pl.col("amount_p").is_null())
         .then(pl.format("金额 {} 不是数字", pl.col("monthly_amount")))),
        ("monthly_amount", pl.when(pl.col("amount_p") < 0)
         .then(pl.format("金额 {} 不能为负数", pl.col("monthly_amount")))),
        ("start_month", pl.when(pl.col("start_month").is_not_null() & pl.col("start_p").is_null())
         .then(pl.format("起始月份 {} 无效，应为 YYYY-MM", pl.col("start_month")))),
        ("start_month", pl.when(pl.col("start_p") > pl.col("today"))
         .then(pl.format("起始月份 {} 晚于今天", pl.col("start_month")))),
        ("next_review_on", pl.when(pl.col("next_review_on").is_not_null() & pl.col("review_p").is_null())
         .then(pl.format("日期 {} 无效，应为 YYYY-MM-DD", pl.col("next_review_on")))),
        ("gradual_exit_until", pl.when(pl.col("gradual_exit_until").is_not_null() & pl.col("exit_p").is_null())
         .then(pl.format("渐退截止 {} 无效，应为 YYYY-MM", pl.col("gradual_exit_until")))),
        ("decision_date", pl.when(pl.col("decision_date").is_not_null() & pl.col("decision_p").is_null())
         .then(pl.format("审批日期 {} 无效，应为 YYYY-MM-DD", pl.col("decision_date")))),
        ("decision_date", pl.when(pl.col("decision_p") > pl.col("today")).then(pl.lit("审批日期晚于今天"))),
        ("support_mode", pl.when(pl.col("support_mode").is_not_null() & pl.col("mode_p").is_null())
         .then(pl.format("供养方式 {} 应为 集中供养（centralized）或 分散供养（dispersed）", pl.col("support_mode")))),
        ("support_mode", pl.when(pl.col("support_mode").is_not_null() & (pl.col("program_key") != "extreme_poverty"))
         .then(pl.lit("只有特困供养登记供养方式"))),
        ("review_cycle_months", pl.when(pl.col("review_cycle_months").is_not_null()
                                        & ~pl.col("cycle_p").is_between(1, 36))
         .then(pl.lit("复核周期应为 1 至 36 个月"))),
        ("decision_no", pl.when(pl.col("decision_no").str.len_chars() > 64).then(pl.lit("审批文号不超过 64 个字符"))),
    ]


def _db_checks() -> list[tuple[str, pl.Expr]]:
    return [
        ("household_no", pl.when(pl.col("household_no").is_not_null() & pl.col("household_id").is_null())
         .then(pl.format("户编号 {} 不在家庭档案中（或不在您的管辖范围内）", pl.col("household_no")))),
        ("id_number", pl.when(pl.col("household_id").is_not_null() & pl.col("id_number_n").is_not_null()
                              & pl.col("person_id").is_null())
         .then(pl.format("身份证号 {} 不是户 {} 的现有成员", pl.col("id_number"), pl.col("household_no")))),
        ("*", pl.when(pl.col("legacy_key").is_duplicated() & (pl.col(ROW) != pl.col(ROW).min().over("legacy_key")))
         .then(pl.format("与第 {} 行重复（同一项目、同户、同人）", pl.col(ROW).min().over("legacy_key")))),
    ]


def _lookups(session: Session, frame: pl.DataFrame, actor: Actor) -> pl.DataFrame:
    numbers = frame["household_no"].drop_nulls().unique().sort().to_list()
    hh = _read_in(session, in_area(select(Household.household_no, Household.id, Household.area_code),
                                        Household.area_code, actor), Household.household_no, numbers,
                       schema={"household_no": pl.Utf8, "household_id": pl.Int64, "area_code": pl.Utf8})
    stmt = (select(Membership.household_id, Person.id_number, Person.id).join(Person, Person.id == Membership.person_id)
            .where(Membership.valid_to.is_(None)))
    members = _read_in(session, stmt, Membership.household_id, hh["household_id"].to_list(),
                            schema={"household_id": pl.Int64, "id_number_n": pl.Utf8, "person_id": pl.Int64})
    return (frame.join(hh, on="household_no", how="left", maintain_order="left")
            .join(members, on=["household_id", "id_number_n"], how="left", maintain_order="left"))


def _enrollment_rows(good: pl.DataFrame, today: date) -> pl.DataFrame:
    first = date(today.year, today.month, 1)
    return good.select(
        "household_id", "area_code", program=pl.col("program_key"),
        person_id=pl.when(pl.col("personal")).then(pl.col("person_id")),
        status=pl.when(pl.col("exit_p").is_not_null() & (pl.col("exit_p") > pl.lit(first)))
        .then(pl.lit("gradual_exit")).otherwise(pl.lit("active")),
        monthly_amount=pl.col("amount_p"), level=pl.col("level").fill_null("").str.slice(0, 24),
        # No start month in the ledger: counted from an unknown month before the import (the first of the
        # import month stands for it, and migrated_enrollments.start_known says it is not the real one).
        start_month=pl.coalesce(pl.col("start_p"), pl.lit(first)),
        review_cycle_months=pl.col("cycle_p").fill_null(12), next_review_on=pl.col("review_p"),
        gradual_exit_until=pl.col("exit_p"),
    )


def import_enrollments(session: Session, *, actor: Actor, path: Path, today: date | None = None,
                       progress: Callable[[str], None] | None = None) -> EnrollmentImportResult:
    """Import a ledger of current recipients; raises ImportFileError for a file that cannot be read at all."""
    actor.require("import.run")
    actor.require("enrollment.manage")
    today = today or clock.today()
    note = progress or (lambda _m: None)
    sha = file_sha256(path) if path.is_file() else ""
    result = EnrollmentImportResult(file_name=path.name)
    earlier = session.scalar(select(IngestBatch.id).where(
        IngestBatch.kind == "import", IngestBatch.source_key == SOURCE_KEY, IngestBatch.file_sha256 == sha))
    if earlier is not None:
        result.duplicate_of = earlier
        return result
    table = read_columns(path, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
    result.warnings = table.warnings
    note(f"已读取 {table.frame.height} 行，校验中…")
    frame = _parse(table.frame, today)
    # A household program (低保) is one enrollment per household whichever member the ledger names.
    person_key = pl.when(pl.col("personal")).then(pl.col("id_number_n")).otherwise(pl.lit(""))
    frame = frame.with_columns(legacy_key=pl.concat_str([pl.col("program_key").fill_null(pl.col("program")),
                                                         pl.col("household_no"), person_key.fill_null("")],
                                                        separator="|"))
    frame = _lookups(session, frame, actor)
    errors = table.with_problems(
        pl.concat([_errors(frame, _checks()), _errors(frame, _db_checks())]).sort(ROW, maintain_order=True))
    rejected = errors[ROW].unique()
    good = frame.filter(~pl.col(ROW).is_in(rejected.implode()))
    batch = IngestBatch(kind="import", source_key=SOURCE_KEY, file_name=path.name[:255], file_sha256=sha,
                        created_by=actor.user_id, rows_total=frame.height, rows_ok=good.height,
                        rows_rejected=rejected.len(), status="running", details={})
    session.add(batch)
    session.flush()
    note(f"写入 {good.height} 条保障记录…")
    result.new, result.updated, result.unchanged = _write(session, good, batch.id, today)
    _quarantine(session, batch.id, errors, frame)
    result.batch_id, result.rows_total = batch.id, frame.height
    result.rows_ok, result.rows_rejected = good.height, rejected.len()
    result.start_unknown = good.filter(pl.col("start_p").is_null()).height
    result.rejects = errors.join(frame.select(ROW, "household_no", "id_number", "program"), on=ROW, how="left",
                                 maintain_order="left").select(REPORT_COLUMNS).cast({ROW: pl.Utf8})
    counts = {"new": result.new, "updated": result.updated, "unchanged": result.unchanged,
              "start_unknown": result.start_unknown}
    batch.status, batch.finished_at, batch.details = "done", datetime.now(UTC), {**counts, "warnings": result.warnings}
    audit.record(session, actor=actor, action="caseload.import_enrollments", object_type="ingest_batch",
                 object_id=batch.id, extra={"file": path.name, "sha256": sha, "rows_total": frame.height,
                                            "rows_ok": good.height, "rows_rejected": result.rows_rejected, **counts})
    return result


COMPARED = ["monthly_amount", "level", "start_month", "review_cycle_months", "next_review_on", "gradual_exit_until",
            "status"]


def _write(session: Session, good: pl.DataFrame, batch_id: int, today: date) -> tuple[int, int, int]:
    """New enrollments with their migration rows; changed ones updated (version checked); returns counts."""
    rows = _enrollment_rows(good, today).with_columns(legacy_key=good["legacy_key"], row_number=good[ROW],
                                                      decision_date=good["decision_p"],
                                                      decision_no=good["decision_no"].fill_null(""),
                                                      support_mode=good["mode_p"],
                                                      start_known=good["start_p"].is_not_null())
    stmt = (select(MigratedEnrollment.legacy_key, Enrollment.id, Enrollment.version,
                   *(getattr(Enrollment, c) for c in COMPARED))
            .join(Enrollment, Enrollment.id == MigratedEnrollment.enrollment_id))
    schema: dict[str, Any] = {"legacy_key": pl.Utf8, "id": pl.Int64, "version": pl.Int64, "monthly_amount": pl.Float64,
                              "level": pl.Utf8, "start_month": pl.Date, "review_cycle_months": pl.Int64,
                              "next_review_on": pl.Date, "gradual_exit_until": pl.Date, "status": pl.Utf8}
    old = _read_in(session, stmt, MigratedEnrollment.legacy_key, rows["legacy_key"].to_list(), schema=schema)
    joined = rows.join(old, on="legacy_key", how="left", suffix="_old", maintain_order="left")
    same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}_old")) for c in COMPARED])
    fresh = joined.filter(pl.col("id").is_null())
    changed = joined.filter(pl.col("id").is_not_null() & ~same)
    enrollment_cols = ["household_id", "person_id", "area_code", "program", *COMPARED]
    if fresh.height:
        # RETURNING gives no order: household, program and person identify a new row (the file's key is unique).
        key = ["household_id", "program", "person_id"]
        added = write_frame(session, Enrollment, fresh.select(enrollment_cols), returning=["id", *key]).returned
        links = fresh.join(added.rename({"id": "enrollment_id"}), on=key, how="left", nulls_equal=True)
        write_frame(session, MigratedEnrollment, links.select(
            "enrollment_id", "legacy_key", pl.lit(batch_id, pl.Int64).alias("batch_id"), "row_number",
            "decision_date", "decision_no", "support_mode", "start_known"))
    if changed.height:
        written = write_frame(session, Enrollment, changed.select("id", "version", *COMPARED), mode="update",
                              match=["id"]).rows
        if written != changed.height:
            raise ImportFileError("部分保障记录在导入期间被他人修改，请重新导入")
    return fresh.height, changed.height, joined.height - fresh.height - changed.height


def _quarantine(session: Session, batch_id: int, errors: pl.DataFrame, frame: pl.DataFrame) -> None:
    if errors.is_empty():
        return
    bad = frame.filter(pl.col(ROW).is_in(errors[ROW].unique().implode()))
    raw = bad.select(ROW, pl.struct([c for c in COLUMN_LABELS if c in frame.columns]).struct.json_encode().alias("raw"))
    write_frame(session, RejectedRow, errors.join(raw, on=ROW, how="left", maintain_order="left").select(
        pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col(ROW).alias("row_number"), "field",
        pl.col("reason").str.slice(0, 500), "raw"))
