"""`doudi export households|facts|enrollments --out FILE`: the registry in the import formats, so that an
export imports again to the same state. CSV, XLSX (core/excel; at most 1,048,575 data rows) or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area
from doudi.caseload.models import MigratedEnrollment
from doudi.cases.models import Enrollment
from doudi.core.excel import Col, Sheet, write
from doudi.db.frames import read_frame
from doudi.registry.facts_import import FACT_COLUMNS, KINDS
from doudi.registry.import_read import XLSX_MAX_ROWS, ImportFileError
from doudi.registry.import_write import PERSON_SOURCE
from doudi.registry.models import Household, Membership, Person

BOOLEAN_PERSON = ("serious_illness", "student", "no_civil_capacity", "extreme_poverty_supported", "dibao_recipient")


def households_frame(session: Session, *, actor: Actor) -> pl.DataFrame:
    """Current members of the households in the actor's area, one row each, in the household import format."""
    actor.require("household.export")
    person_cols = [getattr(Person, c) for c in PERSON_SOURCE]
    stmt = in_area(select(Household.household_no, Household.area_code, Household.address, Household.hukou_type,
                          Household.has_capable_supporter, Household.former_registered_poor, Membership.relation,
                          Person.name, Person.id_number, Person.sex, Person.birth_date, *person_cols,
                          Membership.exclusion.label("member_exclusion"), Membership.lives_with_household,
                          Membership.valid_from, Membership.valid_from_known)
                   .join(Membership, Membership.household_id == Household.id)
                   .join(Person, Person.id == Membership.person_id)
                   .where(Membership.valid_to.is_(None))
                   .order_by(Household.household_no, Membership.relation != "head", Membership.id),
                   Household.area_code, actor)
    frame = read_frame(session, stmt)
    flags = ["has_capable_supporter", "former_registered_poor", "lives_with_household", *BOOLEAN_PERSON]
    return frame.with_columns(
        *[pl.col(c).cast(pl.Int8).cast(pl.Utf8) for c in flags],
        member_since=pl.when(pl.col("valid_from_known")).then(pl.col("valid_from")),
    ).drop("valid_from", "valid_from_known")


def facts_frame(session: Session, *, actor: Actor, kind: str) -> pl.DataFrame:
    """Current (not superseded) facts of one kind in the actor's area, in the fact import format."""
    actor.require("household.export")
    if kind not in KINDS:
        raise ImportFileError(f"未知的事实类别 {kind}；应为 {'、'.join(KINDS)}")
    model = KINDS[kind]
    cols: list[Any] = [Household.household_no]
    if kind != "living":
        cols.append(Person.id_number)
    extra = {"income": ["amount"], "expenses": ["amount"], "assets": ["quantity", "value", "description",
                                                                      "certificate_no", "exempt"],
             "living": ["value"]}[kind]
    cols += [model.kind, *(getattr(model, c) for c in extra), model.period_start, model.period_end,
             model.source_kind.label("source"), model.investigator, model.investigated_on, model.note]
    stmt = select(*cols).join(Household, Household.id == model.household_id)
    if kind != "living":
        stmt = stmt.outerjoin(Person, Person.id == model.person_id)
    stmt = in_area(stmt.where(model.superseded_by.is_(None)).where(model.source_kind != "feed")
                   .order_by(Household.household_no, model.id), Household.area_code, actor)
    frame = read_frame(session, stmt)
    if kind == "assets":
        frame = frame.rename({"period_start": "as_of"}).drop("period_end").with_columns(
            pl.col("exempt").cast(pl.Int8).cast(pl.Utf8))
    elif kind == "living":
        frame = frame.rename({"period_start": "observed_on"}).drop("period_end")
    required, optional = FACT_COLUMNS[kind]
    return frame.select([c for c in required + optional if c in frame.columns])


def enrollments_frame(session: Session, *, actor: Actor) -> pl.DataFrame:
    """Active enrollments in the actor's area (migrated or decided here), in the enrollment import format."""
    actor.require("case.export")
    stmt = in_area(select(Household.household_no, Person.id_number, Enrollment.program, Enrollment.monthly_amount,
                          Enrollment.level, Enrollment.start_month, MigratedEnrollment.start_known,
                          Enrollment.next_review_on, Enrollment.gradual_exit_until, MigratedEnrollment.support_mode,
                          MigratedEnrollment.decision_date, MigratedEnrollment.decision_no,
                          Enrollment.review_cycle_months)
                   .join(Household, Household.id == Enrollment.household_id)
                   .outerjoin(Person, Person.id == Enrollment.person_id)
                   .outerjoin(MigratedEnrollment, MigratedEnrollment.enrollment_id == Enrollment.id)
                   .where(Enrollment.status.in_(["active", "gradual_exit"]))
                   .order_by(Enrollment.program, Household.household_no, Enrollment.id), Enrollment.area_code, actor)
    frame = read_frame(session, stmt)
    return frame.with_columns(
        start_month=pl.when(pl.col("start_known").fill_null(True)).then(pl.col("start_month").dt.strftime("%Y-%m")),
        gradual_exit_until=pl.col("gradual_exit_until").dt.strftime("%Y-%m"),
        decision_no=pl.col("decision_no").fill_null(""),
    ).drop("start_known")


def write_export(frame: pl.DataFrame, out: Path, title: str) -> int:
    """Write the frame as CSV, XLSX or Parquet by the file's suffix; returns the row count."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".csv":
        frame.write_csv(out, date_format="%Y-%m-%d", null_value="", include_bom=True)
    elif suffix == ".xlsx":
        if frame.height >= XLSX_MAX_ROWS:
            raise ImportFileError(f"XLSX 每个工作表最多 {XLSX_MAX_ROWS:,} 行（含表头），本次导出 {frame.height:,} 行；"
                                  "请改用 .csv 或 .parquet")
        write(out, Sheet(title, [Col(c, 16) for c in frame.columns], frame.iter_rows()))
    else:
        raise ImportFileError(f"不支持的导出格式 {suffix or '(无扩展名)'}；请用 .csv、.xlsx 或 .parquet")
    return frame.height
