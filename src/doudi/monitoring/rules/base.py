"""What every warning rule reads (frames) and returns (hits): the contract between the runner and the rules.

A rule is a pure function `rule(inputs, params, on) -> hits`, vectorised over the whole frame; one household
and a whole county go through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(), "household_id": pl.Int64(), "area_code": pl.String(), "relation": pl.String(),
    "name": pl.String(), "id_number": pl.String(), "birth_date": pl.Date(), "date_of_death": pl.Date(),
    "disability_grade": pl.Int64(), "hukou_type": pl.String(), "support_mode": pl.String(),
    "recipient": pl.Boolean()}  # recorded in the registry as 低保 or 特困 (a caseload imported before enrollments)
ENROLLMENT_SCHEMA: dict[str, pl.DataType] = {
    "enrollment_id": pl.Int64(), "household_id": pl.Int64(), "person_id": pl.Int64(), "area_code": pl.String(),
    "program": pl.String(), "status": pl.String(), "start_month": pl.Date(), "monthly_amount": pl.Float64(),
    "next_review_on": pl.Date(), "gradual_exit_until": pl.Date()}
FEED_SCHEMA: dict[str, pl.DataType] = {
    "batch_id": pl.Int64(), "row_number": pl.Int64(), "source_key": pl.String(), "area_code": pl.String(),
    "person_id": pl.Int64(), "id_number": pl.String(), "name": pl.String(), "event_date": pl.Date(),
    "amount": pl.Float64(), "code": pl.String(), "grade": pl.Int64()}
GRANT_SCHEMA: dict[str, pl.DataType] = {"household_id": pl.Int64(), "granted_on": pl.Date(), "amount": pl.Float64(),
                                        "kind": pl.String()}  # kind: emergency (急难型) | expenditure (支出型)
# Rigid expenses the registry holds (medical, education, rehabilitation), per household and month of the period.
EXPENSE_SCHEMA: dict[str, pl.DataType] = {"household_id": pl.Int64(), "kind": pl.String(), "month": pl.Date(),
                                          "amount": pl.Float64()}
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "program": pl.String(), "eligible": pl.Boolean(), "monthly_amount": pl.Float64()}
REFUSAL_SCHEMA: dict[str, pl.DataType] = {"household_id": pl.Int64(), "program": pl.String()}
INCOME_SCHEMA: dict[str, pl.DataType] = {"household_id": pl.Int64(), "annual_income": pl.Float64()}
STANDARD_SCHEMA: dict[str, pl.DataType] = {"county": pl.String(), "urban": pl.Float64(), "rural": pl.Float64(),
                                           "financial_months": pl.Float64()}
HIT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(), "household_id": pl.Int64(), "id_number": pl.String(), "name": pl.String(),
    "area_code": pl.String(), "batch_id": pl.Int64(), "row_number": pl.Int64(), "source_key": pl.String(),
    "reason": pl.String(), "detail": pl.String()}

# Programs whose enrollment makes a household a recipient (救助对象) for the rules.
RECIPIENT_PROGRAMS = ("dibao", "dibao_marginal", "extreme_poverty")
LIVE = ("active", "gradual_exit", "suspended")


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame of a schema."""
    return pl.DataFrame(schema=dict(schema))


@dataclass
class Inputs:
    """Everything the rules read, as frames; any frame may be empty."""

    members: pl.DataFrame = field(default_factory=lambda: empty(MEMBER_SCHEMA))
    enrollments: pl.DataFrame = field(default_factory=lambda: empty(ENROLLMENT_SCHEMA))
    feed: pl.DataFrame = field(default_factory=lambda: empty(FEED_SCHEMA))  # only rows not yet compared
    grants: pl.DataFrame = field(default_factory=lambda: empty(GRANT_SCHEMA))
    decisions: pl.DataFrame = field(default_factory=lambda: empty(DECISION_SCHEMA))
    refusals: pl.DataFrame = field(default_factory=lambda: empty(REFUSAL_SCHEMA))
    standards: pl.DataFrame = field(default_factory=lambda: empty(STANDARD_SCHEMA))
    incomes: pl.DataFrame = field(default_factory=lambda: empty(INCOME_SCHEMA))  # counted household income / year
    expenses: pl.DataFrame = field(default_factory=lambda: empty(EXPENSE_SCHEMA))
    # The feed rows already split by source (a feed batch is one source's file), so the run never partitions a
    # whole mixed feed; when given, `feed` is ignored.
    sources: dict[str, pl.DataFrame] | None = None

    def by_source(self, source: str) -> pl.DataFrame:
        """The feed rows of one source (partitioned once, so twenty rules do not each scan the whole feed)."""
        if self.sources is not None:
            return self.sources.get(source, _EMPTY_FEED)
        parts: dict[str, pl.DataFrame] | None = self.__dict__.get("_by_source")
        if parts is None:
            parts = {k[0]: v for k, v in self.feed.partition_by("source_key", as_dict=True).items()} \
                if self.feed.height else {}
            self.__dict__["_by_source"] = parts
        return parts.get(source, self.feed.clear())

    def feed_parts(self) -> list[pl.DataFrame]:
        """Every feed row, one frame per source."""
        if self.sources is not None:
            return list(self.sources.values())
        return [self.feed] if self.feed.height else []

    def conformed(self) -> Inputs:
        """The same frames with exactly the declared columns and types (hand-built frames may omit some)."""
        out = Inputs(members=_conform(self.members, MEMBER_SCHEMA),
                     enrollments=_conform(self.enrollments, ENROLLMENT_SCHEMA), feed=_conform(self.feed, FEED_SCHEMA),
                     grants=_conform(self.grants, GRANT_SCHEMA), decisions=_conform(self.decisions, DECISION_SCHEMA),
                     refusals=_conform(self.refusals, REFUSAL_SCHEMA),
                     standards=_conform(self.standards, STANDARD_SCHEMA),
                     incomes=_conform(self.incomes, INCOME_SCHEMA), expenses=_conform(self.expenses, EXPENSE_SCHEMA))
        if self.sources is not None:
            out.sources = {k: _conform(v, FEED_SCHEMA) for k, v in self.sources.items() if v.height}
        return out

    def touched(self) -> Inputs:
        """Only what new feed rows touch: the households of the people they are linked to (an incremental run
        after an ingest compares the new rows and those households, never the whole registry)."""
        people = pl.concat([p.select("person_id") for p in self.feed_parts()] or [empty({"person_id": pl.Int64()})])
        households = self.members.join(people.drop_nulls().unique(), on="person_id", how="semi").select(
            "household_id").unique()
        def keep(df: pl.DataFrame) -> pl.DataFrame:
            return df.join(households, on="household_id", how="semi")
        return Inputs(members=keep(self.members), enrollments=keep(self.enrollments), feed=self.feed,
                      grants=keep(self.grants), decisions=keep(self.decisions), refusals=keep(self.refusals),
                      standards=self.standards, incomes=keep(self.incomes), expenses=keep(self.expenses),
                      sources=self.sources)


_EMPTY_FEED = empty(FEED_SCHEMA)


def _conform(df: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype).alias(n) for n, dtype in schema.items() if n not in df.columns]
    return df.with_columns(missing).select([pl.col(n).cast(t) for n, t in schema.items()])


def recipients(inp: Inputs) -> pl.DataFrame:
    """Current members of households with a live recipient enrollment, or with a member the registry records as
    receiving 低保 or 特困 (one row per person)."""
    cached: pl.DataFrame | None = inp.__dict__.get("_recipients")
    if cached is not None:
        return cached
    live = inp.enrollments.filter(pl.col("status").is_in(LIVE) & pl.col("program").is_in(RECIPIENT_PROGRAMS))
    flagged = inp.members.filter(pl.col("recipient").fill_null(False)).select("household_id")
    households = pl.concat([live.select("household_id"), flagged]).unique()
    out = inp.members.join(households, on="household_id", how="semi")
    inp.__dict__["_recipients"] = out  # the frames are not changed once built: computed once per run
    return out


def households(inp: Inputs, on: date) -> pl.DataFrame:
    """Per household: area, 户籍 type and the number of members living on `on` (computed once per run and date)."""
    cached: tuple[date, pl.DataFrame] | None = inp.__dict__.get("_households")
    if cached is None or cached[0] != on:
        alive = pl.col("date_of_death").is_null() | (pl.col("date_of_death") > on)
        cached = (on, inp.members.group_by("household_id").agg(
            area_code=pl.col("area_code").first(), hukou_type=pl.col("hukou_type").first(),
            size=alive.sum().cast(pl.UInt32)))
        inp.__dict__["_households"] = cached
    return cached[1]


def prepare(inp: Inputs, on: date) -> None:
    """Build what several rules share (recipients, household sizes) once, before the rules run."""
    recipients(inp)
    households(inp, on)


def hits(df: pl.DataFrame, reason: pl.Expr, detail: pl.Expr | None = None) -> pl.DataFrame:
    """A rule's matches in the hit schema, with the Chinese reason and the compared values (detail)."""
    cols: list[Any] = [reason.alias("reason"), (detail if detail is not None else pl.lit("")).alias("detail")]
    out = df.with_columns(cols)
    return _conform(out, HIT_SCHEMA)


def feed_hits(rows: pl.DataFrame, people: pl.DataFrame, reason: pl.Expr, detail: pl.Expr | None = None
              ) -> pl.DataFrame:
    """Feed rows joined to the registry people they were linked to, as hits (provenance kept)."""
    joined = rows.drop("area_code", "id_number", "name").join(
        people.select("person_id", "household_id", "area_code", "id_number", "name"), on="person_id")
    return hits(joined, reason, detail)


def yuan(expr: pl.Expr) -> pl.Expr:
    """A money column as text with two decimals (for reasons)."""
    cents = (expr * 100).round(0).cast(pl.Int64)
    return pl.concat_str((cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2))
