"""Read what the rules compare into frames: registry members, live enrollments, new feed rows, grants,
refusals, the engine's current assessment and the local standards — a handful of queries, never row by row."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from doudi.auth.scope import subtree_prefix, under
from doudi.cases.models import Case, Enrollment, ProgramDecision, TemporaryGrant
from doudi.core.dates import shift_months
from doudi.db.frames import read_frame, read_frame_in
from doudi.ingest.models import IngestBatch
from doudi.monitoring.models import ComparedBatch
from doudi.monitoring.rules.base import (
    DECISION_SCHEMA,
    ENROLLMENT_SCHEMA,
    FEED_SCHEMA,
    GRANT_SCHEMA,
    INCOME_SCHEMA,
    LIVE,
    MEMBER_SCHEMA,
    REFUSAL_SCHEMA,
    STANDARD_SCHEMA,
    Inputs,
    empty,
)
from doudi.policy.params import PackError, load_pack
from doudi.registry.models import ExpenseFact, Household, Membership, Person
from doudi.verification import payload
from doudi.verification.models import FeedRecord

# Which payload column of each source becomes the common `amount`, `code` and `grade` columns.
FEED_COLUMNS: dict[str, dict[str, str]] = {
    "death": {"code": "record_kind"},
    "hukou": {"code": "status"},
    "tax": {"amount": "amount", "code": "income_kind"},
    "social_insurance": {"amount": "amount", "code": "item"},
    "provident_fund": {"amount": "monthly_deposit"},
    "real_estate": {"amount": "floor_area", "code": "property_use"},
    "vehicle": {"amount": "estimated_value", "code": "vehicle_type"},
    "business": {"amount": "registered_capital", "code": "status"},
    "bank": {"amount": "balance", "code": "product"},
    "disability": {"grade": "grade", "code": "category"},
    "medical": {"amount": "out_of_pocket"},
    "school": {"code": "status"},
    "unemployment": {"code": "status"},
}


def read_members(session: Session, *, on: date, area: str, households: list[int] | None = None) -> pl.DataFrame:
    """Current members of every household in scope (the dead included: the death rule needs them); with
    `households`, of those households only."""
    stmt = (select(Membership.person_id, Membership.household_id, Household.area_code, Membership.relation,
                   Person.name, Person.id_number, Person.birth_date, Person.date_of_death, Person.disability_grade,
                   Household.hukou_type, Person.support_mode,
                   (Person.dibao_recipient | Person.extreme_poverty_supported).label("recipient"))
            .join(Person, Person.id == Membership.person_id).join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_from <= on, or_(Membership.valid_to.is_(None), Membership.valid_to > on)))
    stmt = under(stmt, Household.area_code, area)
    if households is not None:
        return read_frame_in(session, stmt, Membership.__table__.c.household_id, households, schema=MEMBER_SCHEMA)
    return read_frame(session, stmt, schema=MEMBER_SCHEMA)


def read_enrollments(session: Session, *, area: str, households: list[int] | None = None) -> pl.DataFrame:
    """Live enrollments (active, 渐退, suspended) in scope (with `households`, of those only)."""
    stmt = select(Enrollment.id, Enrollment.household_id, Enrollment.person_id, Enrollment.area_code,
                  Enrollment.program, Enrollment.status, Enrollment.start_month, Enrollment.monthly_amount,
                  Enrollment.next_review_on, Enrollment.gradual_exit_until).where(Enrollment.status.in_(LIVE))
    stmt = under(stmt, Enrollment.area_code, area)
    if households is not None:
        return read_frame_in(session, stmt, Enrollment.__table__.c.household_id, households, schema=ENROLLMENT_SCHEMA)
    return read_frame(session, stmt, schema=ENROLLMENT_SCHEMA)


def new_batches(session: Session, *, area: str) -> list[IngestBatch]:
    """Finished feed batches not compared yet that reach the scope (a batch still loading waits for a later run)."""
    stmt = (select(IngestBatch).where(IngestBatch.kind == "feed", IngestBatch.status == "done",
                                      IngestBatch.source_key.in_(list(FEED_COLUMNS)),
                                      ~IngestBatch.id.in_(select(ComparedBatch.batch_id)))
            .order_by(IngestBatch.id))
    prefix = subtree_prefix(area) if area else ""
    return [b for b in session.scalars(stmt)
            if not prefix or b.national or (b.area_code or "").startswith(prefix)
            or prefix.startswith(b.area_code or "")]


def read_feed(session: Session, batches: list[IngestBatch]) -> pl.DataFrame:
    """The rows of these batches in the common shape: provenance, link, date, amount, code, grade."""
    return pl.concat([empty(FEED_SCHEMA), *read_sources(session, batches).values()], how="vertical")


def read_sources(session: Session, batches: list[IngestBatch]) -> dict[str, pl.DataFrame]:
    """The rows of these batches in the common shape, one frame per source (a batch is one source's file)."""
    parts: dict[str, list[pl.DataFrame]] = {}
    for batch in batches:
        links = read_frame(session, select(FeedRecord.row_number, FeedRecord.person_id, FeedRecord.id_number,
                                           FeedRecord.period).where(FeedRecord.batch_id == batch.id),
                           schema={"row_number": pl.Int64(), "person_id": pl.Int64(), "id_number": pl.String(),
                                   "event_date": pl.Date()})
        mapping = FEED_COLUMNS[batch.source_key]
        rows = payload.read(session, batch, columns=["name", *mapping.values()])
        rows = rows.select("row_number", "name", *(pl.col(col).alias(common) for common, col in mapping.items()))
        frame = links.join(rows, on="row_number", how="left").with_columns(
            batch_id=pl.lit(batch.id, pl.Int64), source_key=pl.lit(batch.source_key),
            area_code=pl.lit(batch.area_code or ""))
        parts.setdefault(batch.source_key, []).append(_fit(frame))
    return {k: pl.concat(v, how="vertical") if len(v) > 1 else v[0] for k, v in parts.items()}


def _fit(df: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, t).alias(n) for n, t in FEED_SCHEMA.items() if n not in df.columns]
    return df.with_columns(missing).select([pl.col(n).cast(t) for n, t in FEED_SCHEMA.items()])


def read_grants(session: Session, *, on: date, area: str) -> pl.DataFrame:
    """Temporary-aid grants approved in the 12 months before `on`."""
    stmt = (select(Case.household_id, TemporaryGrant.approved_at, TemporaryGrant.amount, TemporaryGrant.kind)
            .join(Case, Case.id == TemporaryGrant.case_id)
            .where(TemporaryGrant.approved_at.is_not(None), Case.household_id.is_not(None)))
    df = read_frame(session, under(stmt, Case.area_code, area))
    if df.height == 0:
        return empty(GRANT_SCHEMA)
    return df.select(pl.col("household_id").cast(pl.Int64), granted_on=pl.col("approved_at").dt.date(),
                     amount=pl.col("amount").cast(pl.Float64), kind=pl.col("kind").cast(pl.String)
                     ).filter(pl.col("granted_on") > shift_months(on, -12))


def read_expenses(session: Session, *, on: date, area: str, months: int) -> pl.DataFrame:
    """Current rigid-expense facts of the `months` before `on`, each counted in the month its period starts."""
    since = shift_months(on.replace(day=1), -months)
    stmt = (select(ExpenseFact.household_id, ExpenseFact.kind, ExpenseFact.period_start, ExpenseFact.amount)
            .join(Household, Household.id == ExpenseFact.household_id)
            .where(ExpenseFact.superseded_by.is_(None), ExpenseFact.period_start >= since,
                   ExpenseFact.period_start <= on))
    df = read_frame(session, under(stmt, Household.area_code, area),
                    schema={"household_id": pl.Int64(), "kind": pl.String(), "start": pl.Date(),
                            "amount": pl.Float64()})
    return df.select("household_id", "kind", month=pl.col("start").dt.month_start(), amount="amount")


def read_refusals(session: Session, *, on: date, area: str) -> pl.DataFrame:
    """Programs a household was refused in the last 12 months (遗漏 does not re-raise them)."""
    stmt = (select(Case.household_id, ProgramDecision.program)
            .join(Case, Case.id == ProgramDecision.case_id)
            .where(ProgramDecision.outcome == "rejected", ProgramDecision.decided_on > shift_months(on, -12),
                   Case.household_id.is_not(None)))
    return read_frame(session, under(stmt, Case.area_code, area), schema=REFUSAL_SCHEMA)


def assess(session: Session, *, on: date, area: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The engine's current decisions for every registry household in scope, and their counted income."""
    from doudi.policy.engine import evaluate_frames, long_decisions
    from doudi.policy.registry_frames import read_registry

    frames = read_registry(session.connection(), on=on, area_prefix=area)
    if frames.households.height == 0:
        return empty(DECISION_SCHEMA), empty(INCOME_SCHEMA)
    d = evaluate_frames(frames, on, skip_unconfigured=True, decisions_only=True, also=["counted_income_all"])
    if d.households.height == 0:
        return empty(DECISION_SCHEMA), empty(INCOME_SCHEMA)
    long = long_decisions(d).select("household_id", "program", "eligible", "monthly_amount")
    income = d.households.select("household_id", annual_income=pl.col("counted_income_all").cast(pl.Float64) * 12)
    return long.cast(DECISION_SCHEMA), income.cast(INCOME_SCHEMA)  # type: ignore[arg-type]


def standards(counties: list[str], on: date) -> pl.DataFrame:
    """Each county's 低保 standards and financial-asset limit (months of the urban standard) on `on`."""
    rows: list[dict[str, Any]] = []
    for county in sorted(set(counties)):
        try:
            values = load_pack(county).at(on)
            rows.append({"county": county, "urban": float(values["dibao.standard.urban"]),
                         "rural": float(values["dibao.standard.rural"]),
                         "financial_months": float(values["dibao.property.financial_assets_months"])})
        except (PackError, KeyError, TypeError):
            continue  # a county without a complete pack: its income and asset rules cannot compare
    return pl.DataFrame(rows, schema=STANDARD_SCHEMA) if rows else empty(STANDARD_SCHEMA)


def read_inputs(session: Session, *, on: date, area: str, batches: list[IngestBatch],
                with_assessment: bool = True) -> Inputs:
    """Everything the rules read for the scope `area` ('' = all) on `on`."""
    members = read_members(session, on=on, area=area)
    decisions, incomes = assess(session, on=on, area=area) if with_assessment else (
        empty(DECISION_SCHEMA), empty(INCOME_SCHEMA))
    return Inputs(members=members, enrollments=read_enrollments(session, area=area),
                  sources=read_sources(session, batches),
                  grants=read_grants(session, on=on, area=area), decisions=decisions,
                  refusals=read_refusals(session, on=on, area=area),
                  standards=standards(members["area_code"].str.slice(0, 6).unique().to_list(), on),
                  incomes=incomes, expenses=read_expenses(session, on=on, area=area, months=_expense_months(
                      area, on))).conformed()


def _expense_months(area: str, on: date) -> int:
    """How many months of rigid expenses the 支出型 rule compares (the pack's window)."""
    try:
        return int(load_pack(area or "000000").value("monitoring.rising_expense.window_months", on=on))
    except (PackError, KeyError):
        return 0


def read_touched(session: Session, *, on: date, area: str, batches: list[IngestBatch]) -> Inputs:
    """What an incremental run reads: the new batches' rows, and only the households of the people they are
    linked to (members, live enrollments, grants) — never the whole registry."""
    sources = read_sources(session, batches)
    people = [int(v) for v in pl.concat([empty({"person_id": pl.Int64()}),
                                         *(f.select("person_id") for f in sources.values())])
              ["person_id"].drop_nulls().unique().to_list()]
    of = (select(Membership.household_id)
          .where(Membership.valid_from <= on, or_(Membership.valid_to.is_(None), Membership.valid_to > on)))
    households = read_frame_in(session, of, Membership.__table__.c.person_id, people,
                               schema={"household_id": pl.Int64()})
    ids = [int(v) for v in households["household_id"].unique().to_list()]
    members = read_members(session, on=on, area=area, households=ids)
    return Inputs(members=members, enrollments=read_enrollments(session, area=area, households=ids),
                  sources=sources, grants=read_grants(session, on=on, area=area).join(
                      households.unique(), on="household_id", how="semi"),
                  standards=standards(members["area_code"].str.slice(0, 6).unique().to_list(), on)).conformed()
