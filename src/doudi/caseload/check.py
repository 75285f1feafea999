"""存量对象核查: re-assess every migrated recipient on the current facts and list where the ledger and the
engine differ (program, level or amount), with the engine's reasons: the review list of a county's first months."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area
from doudi.caseload.models import MigratedEnrollment
from doudi.cases.models import Enrollment
from doudi.core.excel import Col, Sheet
from doudi.db.frames import read_frame
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import evaluate_frames
from doudi.policy.registry_frames import read_registry
from doudi.registry.models import Household, Person

TOLERANCE = 1.0  # yuan: the ledger rounds amounts to whole yuan


def check_migrated(session: Session, *, actor: Actor, on: date) -> pl.DataFrame:
    """One row per migrated enrollment in the actor's area whose program, level or amount differs from the engine."""
    actor.require("case.read")
    stmt = in_area(select(Enrollment.id, Enrollment.household_id, Enrollment.person_id, Enrollment.program,
                          Enrollment.level, Enrollment.monthly_amount, Household.household_no, Person.name,
                          Person.id_number, MigratedEnrollment.decision_no)
                   .join(MigratedEnrollment, MigratedEnrollment.enrollment_id == Enrollment.id)
                   .join(Household, Household.id == Enrollment.household_id)
                   .outerjoin(Person, Person.id == Enrollment.person_id)
                   .where(Enrollment.status.in_(["active", "gradual_exit"])), Enrollment.area_code, actor)
    legacy = read_frame(session, stmt, schema={
        "enrollment_id": pl.Int64, "household_id": pl.Int64, "person_id": pl.Int64, "program": pl.Utf8,
        "level": pl.Utf8, "amount": pl.Float64, "household_no": pl.Utf8, "name": pl.Utf8, "id_number": pl.Utf8,
        "decision_no": pl.Utf8})
    empty = pl.DataFrame(schema={**dict.fromkeys(["household_no", "name", "id_number", "program", "decision_no"],
                                                 pl.Utf8), "amount": pl.Float64, "engine_amount": pl.Float64,
                                 "level": pl.Utf8, "engine_level": pl.Utf8, "finding": pl.Utf8, "reasons": pl.Utf8})
    if legacy.is_empty():
        return empty
    frames = read_registry(session.connection(), on=on, household_ids=legacy["household_id"].unique().to_list())
    decisions = evaluate_frames(frames, on, skip_unconfigured=True)
    household = decision_rows(decisions).select("household_id", "program", "eligible", "reasons",
                                                engine_amount="monthly_amount", engine_level="level")
    personal = member_rows(decisions).select("person_id", "program", engine_amount_p="monthly_amount",
                                             engine_level_p="level")
    out = (legacy.join(household, on=["household_id", "program"], how="left")
           .join(personal, on=["person_id", "program"], how="left"))
    is_personal = pl.col("person_id").is_not_null()
    out = out.with_columns(
        engine_amount=pl.when(is_personal).then(pl.col("engine_amount_p")).otherwise(pl.col("engine_amount")),
        engine_level=pl.when(is_personal).then(pl.col("engine_level_p")).otherwise(pl.col("engine_level")),
        engine_eligible=pl.when(is_personal).then(pl.col("engine_amount_p").is_not_null())
        .otherwise(pl.col("eligible").fill_null(False)),
    )
    finding = (pl.when(pl.col("eligible").is_null() & ~is_personal)
               .then(pl.lit("未能评估（家庭无现有成员或地区无参数包）"))
               .when(~pl.col("engine_eligible")).then(pl.lit("按现有事实不符合该项目"))
               .when((pl.col("amount") - pl.col("engine_amount").fill_null(0)).abs() > TOLERANCE)
               .then(pl.format("金额不同：台账 {} 元，测算 {} 元", pl.col("amount").round(2),
                               pl.col("engine_amount").round(2)))
               .when((pl.col("level").fill_null("") != "") & ~pl.col("level").eq_missing(pl.col("engine_level")))
               .then(pl.format("档次不同：台账 {}，测算 {}", pl.col("level"),
                               pl.col("engine_level").fill_null("（无）"))))
    return (out.with_columns(finding=finding).filter(pl.col("finding").is_not_null())
            .select("household_no", "name", "id_number", "program", "decision_no", "amount", "engine_amount", "level",
                    "engine_level", "finding", pl.col("reasons").fill_null(""))
            .sort("program", "household_no"))


def check_sheet(findings: pl.DataFrame, on: date) -> Sheet:
    """The findings as a sheet (ID numbers masked)."""
    cols = [Col("户编号", 16), Col("姓名", 10, mask="name"), Col("身份证号", 20, mask="id_number"), Col("项目", 16),
            Col("原审批文号", 24), Col("台账金额（元）", 12, number_format="0.00"),
            Col("测算金额（元）", 12, number_format="0.00"), Col("台账档次", 10), Col("测算档次", 10),
            Col("核查发现", 36),
            Col("测算理由", 60)]
    return Sheet("存量对象核查", cols, findings.iter_rows(),
                 caption=f"按 {on} 的现有事实重新测算，与台账不一致的存量对象")
