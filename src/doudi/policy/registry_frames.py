"""Read the registry (households, memberships, persons, income/asset/expense facts, living conditions)
into the engine's frames with a handful of SQL queries and Polars, never row by row through the ORM.

Fact rules: superseded facts are ignored; where several sources report the same person and kind,
the most authoritative wins (investigated > agency feed > declared), except that a holding counts at the larger
of its declared and agency totals unless investigated (a feed lists only what its agency registers); income is the
month-weighted average over the pack's ``dibao.income.averaging_months`` before the evaluation date; assets are the
holdings reported in the pack's ``dibao.property.lookback_months`` (exempt vehicles excluded); rigid
expenses are pro-rated to the ``rigid_expenses.window_months`` before the date.

Person status the rules need comes from the registry as recorded (currently 特困 / 低保, 供养方式,
schooling stage, civil capacity, supporters living elsewhere); nothing is guessed here: where the registry
is silent the engine says what it inferred, or that the case is 待核实.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, or_, select

from doudi.auth.scope import under
from doudi.core.dates import shift_months
from doudi.db.frames import read_frame
from doudi.policy.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, Frames, ReaderParams, conform
from doudi.policy.params import PackError, load_pack
from doudi.policy.spec import INCOME_KINDS
from doudi.registry.models import (
    AssetFact,
    ExpenseFact,
    Household,
    IncomeFact,
    LivingCondition,
    Membership,
    Person,
)

SOURCE_RANK = {"investigated": 3, "feed": 2, "declared": 1}
ASSET_COLUMNS = {"financial": "financial_assets", "residential_property": "residential_properties",
                 "non_residential_property": "non_residential_properties", "vehicle": "vehicles",
                 "business_registration": "business_registrations"}
UNSAFE_VALUES = ["unsafe", "dangerous", "危房", "true", "1", "是", "none", "无"]
CHILD_STATUS = {"hardship": "in_hardship"}  # registry vocabulary → the evaluation contract's


def months_back(on: date, months: int) -> date:
    """The same day `months` months earlier (clamped to the month's last day)."""
    return shift_months(on, -months)


def _read(conn: Connection, stmt: Any, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return read_frame(conn, stmt, schema=schema)


def _of_sources(stmt: Any, column: Any, sources: Sequence[str] | None) -> Any:
    return stmt if sources is None else stmt.where(column.in_(list(sources)))


def _scope(stmt: Any, area_prefix: str, household_ids: Sequence[int] | None) -> Any:
    stmt = under(stmt, Household.area_code, area_prefix)
    if household_ids is not None:
        stmt = stmt.where(Household.id.in_(list(household_ids)))
    return stmt


def read_registry(conn: Connection, *, on: date, area_prefix: str = "",
                  household_ids: Sequence[int] | None = None, sources: Sequence[str] | None = None) -> Frames:
    """Frames for every registry household in scope (`area_prefix`: an area code or a code prefix, via
    auth.scope.under; or `household_ids`), with its facts as of `on`.

    `sources` limits the facts read to those source kinds (e.g. ``["declared"]``: what the household declared,
    before verification); None reads every source, the most authoritative winning."""
    hh = _read(conn, _scope(select(Household.id, Household.area_code, Household.hukou_type,
                                   Household.has_capable_supporter, Household.former_registered_poor),
                            area_prefix, household_ids),
               {"household_id": pl.Int64(), "area_code": pl.String(), "hukou_type": pl.String(),
                "has_capable_supporter": pl.Boolean(), "former_registered_poor": pl.Boolean()})
    hh = hh.with_columns(urban=pl.col("hukou_type") == "urban").drop("hukou_type")
    # The windows depend on each county's pack (Guangdong: 6 months of income). A county without a
    # complete pack is not read: the engine sets its households aside and reports why.
    windows: dict[str, ReaderParams] = {}
    for county in hh["area_code"].str.slice(0, 6).unique().to_list():
        try:
            windows[county] = ReaderParams.read(load_pack(county).at(on))
        except PackError:
            continue
    longest = max((max(w.income_months, w.asset_months, w.expense_months) for w in windows.values()), default=0)
    earliest = months_back(on, longest)
    members = _members(conn, on, area_prefix, household_ids)
    income = _income(conn, on, earliest, area_prefix, household_ids, hh, windows, sources)
    assets = _assets(conn, on, earliest, area_prefix, household_ids, hh, windows, sources)
    expenses = _expenses(conn, on, earliest, area_prefix, household_ids, hh, windows, sources)
    living = _living(conn, on, area_prefix, household_ids)
    # Income recorded for the household as a whole is attributed to its head (member 0).
    heads = members.filter(pl.col("member_idx") == 0).select("household_id", head_id="person_id")
    income = (income.join(heads, on="household_id", how="left")
              .with_columns(person_id=pl.coalesce("person_id", "head_id"))
              .group_by("household_id", "person_id").agg([pl.col(k).sum() for k in INCOME_KINDS]))
    # In household order, as _members sorted them: a snapshot written from the registry is then read by a chunk
    # or a Spark task as one run of its households' members (doudi.scale.slices).
    members = members.join(income, on=["household_id", "person_id"], how="left", maintain_order="left")
    receiving = members.group_by("household_id").agg(receiving_dibao=pl.col("dibao_recipient").any())
    hh = hh.join(receiving, on="household_id", how="left")
    hh = hh.join(assets, on="household_id", how="left").join(expenses, on="household_id", how="left").join(
        living, on="household_id", how="left")
    for name, dtype in HOUSEHOLD_SCHEMA.items():
        if name not in hh.columns:
            hh = hh.with_columns(pl.lit(None, dtype).alias(name))
    return conform(Frames(hh.sort("household_id"), members))


def _members(conn: Connection, on: date, prefix: str, ids: Sequence[int] | None) -> pl.DataFrame:
    stmt = (select(Membership.household_id, Membership.id, Membership.person_id, Membership.relation,
                   Membership.exclusion, Membership.lives_with_household, Person.birth_date,
                   Person.disability_category, Person.disability_grade, Person.serious_illness,
                   Person.self_care_unable_items, Person.student, Person.schooling_stage, Person.child_status,
                   Person.extreme_poverty_supported, Person.support_mode, Person.dibao_recipient,
                   Person.no_civil_capacity, Person.supporters_elsewhere_able, Person.supporters_elsewhere_unable,
                   Person.supporters_elsewhere_unverified, Membership.valid_from_known)
            .join(Person, Person.id == Membership.person_id)
            .join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_from <= on)
            .where(or_(Membership.valid_to.is_(None), Membership.valid_to > on))
            .where(or_(Person.date_of_death.is_(None), Person.date_of_death > on)))
    df = _read(conn, _scope(stmt, prefix, ids), {
        "household_id": pl.Int64(), "membership_id": pl.Int64(), "person_id": pl.Int64(), "relation": pl.String(),
        "exclusion": pl.String(), "lives_with_household": pl.Boolean(), "birth_date": pl.Date(),
        "disability_category": pl.String(), "disability_grade": pl.Int8(), "serious_illness": pl.Boolean(),
        "self_care_unable_items": pl.Int8(), "student": pl.Boolean(), "schooling_stage": pl.String(),
        "child_status": pl.String(), "extreme_poverty_supported": pl.Boolean(), "support_mode": pl.String(),
        "dibao_recipient": pl.Boolean(), "no_civil_capacity": pl.Boolean(), "ext_able": pl.Int16(),
        "ext_unable": pl.Int16(), "ext_unverified": pl.Int16(), "start_known": pl.Boolean()})
    # Art. 7 (4): relatives other than spouse and children count only when they live with the household.
    df = df.with_columns(exclusion=pl.when(pl.col("exclusion").is_null() & ~pl.col("lives_with_household")
                                           & ~pl.col("relation").is_in(["head", "spouse", "child"]))
                         .then(pl.lit("not_cohabiting")).otherwise(pl.col("exclusion")),
                         child_status=pl.col("child_status").replace(CHILD_STATUS))
    df = df.sort("household_id", pl.col("relation") != "head", "membership_id")
    return df.with_columns(member_idx=pl.int_range(pl.len()).over("household_id").cast(pl.Int32)).select(
        [c for c in MEMBER_SCHEMA if c in df.columns or c == "member_idx"])


def _best_source(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Keep only facts from the most authoritative source present for each key."""
    df = df.with_columns(rank=pl.col("source_kind").replace_strict(SOURCE_RANK, default=0, return_dtype=pl.Int8))
    return df.filter(pl.col("rank") == pl.col("rank").max().over(keys)).drop("rank")


def _held(df: pl.DataFrame) -> pl.DataFrame:
    """Holdings per household and kind: an investigation's figures where there is one; otherwise the larger of
    the declared and the agency totals. A feed lists only what its agency registers (a rural home never registered,
    an account at a bank outside the feed is not in it), so a holding the household declared still counts; one it
    hid and the feed lists is found."""
    keys = ["household_id", "kind"]
    totals = df.group_by([*keys, "source_kind"]).agg(pl.col("value").sum(), pl.col("quantity").sum())
    investigated = totals.filter(pl.col("source_kind") == "investigated")
    rest = totals.join(investigated.select(keys), on=keys, how="anti").group_by(keys).agg(
        pl.col("value").max(), pl.col("quantity").max())
    return pl.concat([investigated.drop("source_kind"), rest], how="diagonal_relaxed")


def _monthly_best(df: pl.DataFrame, lo: pl.Expr | date, hi: date, keys: list[str]) -> pl.DataFrame:
    """Split each fact into the calendar months it overlaps within [lo, hi] (column `days`: overlap days),
    then keep, for each key and month, only the most authoritative source present in that month.

    Ranking per month matters: an investigated figure for one month must not erase a feed's other eleven.
    """
    lo_e = pl.lit(lo) if isinstance(lo, date) else lo
    s = pl.max_horizontal(pl.col("period_start"), lo_e)
    e = pl.min_horizontal(pl.col("period_end"), pl.lit(hi))
    df = df.with_columns(_s=s, _e=e).filter(pl.col("_e") >= pl.col("_s"))
    df = df.with_columns(month=pl.date_ranges(pl.col("_s").dt.month_start(), pl.col("_e").dt.month_start(),
                                              "1mo")).explode("month")
    m_s = pl.max_horizontal(pl.col("_s"), pl.col("month"))
    m_e = pl.min_horizontal(pl.col("_e"), pl.col("month").dt.month_end())
    df = df.with_columns(days=(m_e - m_s).dt.total_days() + 1).drop("_s", "_e")
    return _best_source(df, [*keys, "month"])


def _window_starts(df: pl.DataFrame, hh: pl.DataFrame, on: date, windows: dict[str, ReaderParams],
                   field: str) -> pl.DataFrame:
    """Each fact's household window start (facts of counties without a pack are dropped: not evaluated)."""
    starts = {c: months_back(on, getattr(w, field)) for c, w in windows.items()}
    df = df.join(hh.select("household_id", county=pl.col("area_code").str.slice(0, 6)), on="household_id")
    if not starts:  # no county to evaluate: no facts (an empty mapping would give the column no date type)
        return df.clear().with_columns(win_start=pl.lit(None, dtype=pl.Date))
    return df.filter(pl.col("county").is_in(list(starts))).with_columns(
        win_start=pl.col("county").replace_strict(starts, return_dtype=pl.Date))


def _income(conn: Connection, on: date, earliest: date, prefix: str, ids: Sequence[int] | None,
            hh: pl.DataFrame, windows: dict[str, ReaderParams], sources: Sequence[str] | None = None
            ) -> pl.DataFrame:
    stmt = (select(IncomeFact.household_id, IncomeFact.person_id, IncomeFact.kind, IncomeFact.amount,
                   IncomeFact.source_kind, IncomeFact.period_start, IncomeFact.period_end)
            .join(Household, Household.id == IncomeFact.household_id)
            .where(IncomeFact.superseded_by.is_(None))
            .where(and_(IncomeFact.period_end >= earliest, IncomeFact.period_start <= on))
            .where(IncomeFact.kind.in_(INCOME_KINDS)))
    df = _read(conn, _scope(_of_sources(stmt, IncomeFact.source_kind, sources), prefix, ids), {
        "household_id": pl.Int64(), "person_id": pl.Int64(), "kind": pl.String(), "amount": pl.Float64(),
        "source_kind": pl.String(), "period_start": pl.Date(), "period_end": pl.Date()})
    if df.is_empty():
        return pl.DataFrame(schema={"household_id": pl.Int64(), "person_id": pl.Int64(),
                                    **{k: pl.Float64() for k in INCOME_KINDS}})
    df = _window_starts(df, hh, on, windows, "income_months")
    # The window is the N months before the evaluation date: [date − N months, date − 1 day].
    last = on - timedelta(days=1)
    df = _monthly_best(df, pl.col("win_start"), last, ["household_id", "person_id", "kind"])
    win_days = (pl.lit(on) - pl.col("win_start")).dt.total_days()
    df = df.with_columns(monthly=pl.col("amount") * pl.col("days") / win_days)
    out = df.group_by("household_id", "person_id").agg(
        [pl.col("monthly").filter(pl.col("kind") == k).sum().round(2).alias(k) for k in INCOME_KINDS])
    return out


def _assets(conn: Connection, on: date, lo: date, prefix: str, ids: Sequence[int] | None, hh: pl.DataFrame,
            windows: dict[str, ReaderParams], sources: Sequence[str] | None = None) -> pl.DataFrame:
    stmt = (select(AssetFact.household_id, AssetFact.kind, AssetFact.quantity, AssetFact.value, AssetFact.exempt,
                   AssetFact.source_kind, AssetFact.period_end)
            .join(Household, Household.id == AssetFact.household_id)
            .where(AssetFact.superseded_by.is_(None))
            .where(and_(AssetFact.period_end >= lo, AssetFact.period_start <= on)))
    df = _read(conn, _scope(_of_sources(stmt, AssetFact.source_kind, sources), prefix, ids), {
        "household_id": pl.Int64(), "kind": pl.String(), "quantity": pl.Int32(), "value": pl.Float64(),
        "exempt": pl.Boolean(), "source_kind": pl.String(), "period_end": pl.Date()})
    df = _window_starts(df, hh, on, windows, "asset_months").filter(pl.col("period_end") >= pl.col("win_start"))
    df = _held(df.filter(~pl.col("exempt")))
    return df.group_by("household_id").agg(
        pl.col("value").filter(pl.col("kind") == "financial").sum().alias("financial_assets"),
        *[pl.col("quantity").filter(pl.col("kind") == k).sum().cast(pl.Int32).alias(c)
          for k, c in ASSET_COLUMNS.items() if k != "financial"])


def _expenses(conn: Connection, on: date, lo: date, prefix: str, ids: Sequence[int] | None, hh: pl.DataFrame,
              windows: dict[str, ReaderParams], sources: Sequence[str] | None = None) -> pl.DataFrame:
    last = on - timedelta(days=1)
    stmt = (select(ExpenseFact.household_id, ExpenseFact.kind, ExpenseFact.amount, ExpenseFact.source_kind,
                   ExpenseFact.period_start, ExpenseFact.period_end)
            .join(Household, Household.id == ExpenseFact.household_id)
            .where(ExpenseFact.superseded_by.is_(None))
            .where(and_(ExpenseFact.period_end >= lo, ExpenseFact.period_start <= on)))
    df = _read(conn, _scope(_of_sources(stmt, ExpenseFact.source_kind, sources), prefix, ids), {
        "household_id": pl.Int64(), "kind": pl.String(), "amount": pl.Float64(), "source_kind": pl.String(),
        "period_start": pl.Date(), "period_end": pl.Date()})
    period_days = (pl.col("period_end") - pl.col("period_start")).dt.total_days() + 1
    df = _monthly_best(_window_starts(df, hh, on, windows, "expense_months"), pl.col("win_start"), last,
                       ["household_id", "kind"])
    df = df.with_columns(share=pl.col("amount") * pl.col("days") / pl.max_horizontal(period_days, pl.lit(1)))
    return df.group_by("household_id").agg(
        [pl.col("share").filter(pl.col("kind") == k).sum().round(2).alias(f"exp_{k}")
         for k in ("medical", "education", "rehabilitation", "other")])


def _living(conn: Connection, on: date, prefix: str, ids: Sequence[int] | None) -> pl.DataFrame:
    stmt = (select(LivingCondition.household_id, LivingCondition.kind, LivingCondition.value)
            .join(Household, Household.id == LivingCondition.household_id)
            .where(LivingCondition.superseded_by.is_(None)).where(LivingCondition.period_start <= on)
            .order_by(LivingCondition.period_start))
    df = _read(conn, _scope(stmt, prefix, ids),
               {"household_id": pl.Int64(), "kind": pl.String(), "value": pl.String()})
    latest = df.group_by("household_id", "kind").agg(pl.col("value").last())
    bad = pl.col("value").str.to_lowercase().is_in(UNSAFE_VALUES)
    return latest.group_by("household_id").agg(
        unsafe_housing=(pl.col("kind").is_in(["housing", "unsafe_housing"]) & bad).any(),
        no_safe_water=(pl.col("kind").is_in(["drinking_water", "water", "no_safe_water"]) & bad).any(),
    )
