"""Coordination for the accuracy study and county-wide re-verification: every household's linked feed rows become
registry facts at once (the mapping verification requests use, `verification.facts.feed_facts`, written in batch),
and the reviews the monitoring rules propose are applied (deaths they report recorded in the registry)."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause, under
from doudi.db.engine import begin_write
from doudi.db.frames import read_frame, write_frame
from doudi.registry import writes
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, Membership, Person
from doudi.registry.schemas import PersonUpdate
from doudi.verification import facts as feed_facts

CHUNK = 20_000  # persons per read of linked feed rows
TABLES: dict[str, type[IncomeFact] | type[AssetFact] | type[ExpenseFact]] = {
    "income": IncomeFact, "asset": AssetFact, "expense": ExpenseFact}
REVIEW_DISPOSITIONS = ("review", "suspend")  # a warning that proposes a review (复核) of the household


def verify_county(session: Session, *, actor: Actor, on: date, area: str = "") -> int:
    """Turn every linked feed row of every current member in the actor's area (and `area`) into a registry fact
    (source_kind='feed'), skipping rows already recorded; returns the number of facts added. All or nothing in
    the caller's transaction."""
    actor.require("verification.request")
    begin_write(session)  # one writer at a time on SQLite; the facts' unique key stops a concurrent repeat elsewhere
    stmt = (select(Membership.person_id, Membership.household_id)
            .join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_to.is_(None), area_clause(Household.area_code, actor)))
    members = read_frame(session, under(stmt, Household.area_code, area),
                         schema={"person_id": pl.Int64(), "household_id": pl.Int64()})
    parts = []
    for start in range(0, members.height, CHUNK):
        chunk = members.slice(start, CHUNK)
        records = feed_facts.load_feed(session, person_ids=chunk["person_id"].to_list())
        parts.append(feed_facts.feed_facts(records, chunk, as_of=on))
    facts = pl.concat(parts) if parts else pl.DataFrame(schema=feed_facts.FACT_SCHEMA)
    added = 0
    for table, model in TABLES.items():
        rows = facts.filter(pl.col("table") == table)
        if rows.is_empty():
            continue
        seen = read_frame(session, select(model.note).where(model.source_kind == "feed",
                                                            model.household_id.in_(rows["household_id"].unique()
                                                                                   .to_list())),
                          schema={"note": pl.String()})
        rows = rows.join(seen, on="note", how="anti").unique("note", keep="first", maintain_order=True)
        common = [pl.col("household_id"), pl.col("person_id"), pl.col("kind"), pl.lit("feed").alias("source_kind"),
                  pl.col("source_key"), pl.col("batch_id"), pl.col("period_start"), pl.col("period_end"),
                  pl.col("note"), pl.lit(actor.user_id, pl.Int64).alias("recorded_by"),
                  # The feed row's own key: the current-fact unique index refuses the same row twice.
                  pl.concat_str(pl.lit("feed|"), pl.col("note")).alias("fact_key")]
        amount = pl.col("amount").fill_null(0.0).round(2)
        if table == "asset":
            out = rows.select(*common, value=amount, quantity=pl.col("quantity"), exempt=pl.col("exempt"),
                              description=pl.col("description").fill_null("").str.slice(0, 200))
        else:
            out = rows.select(*common, amount=amount)
        write_frame(session, model, out)
        added += out.height
    audit.record(session, actor=actor, action="targeting.verify_county", object_type="area", object_id=0,
                 area_code=area or None, extra={"on": on.isoformat(), "persons": members.height, "facts_added": added})
    return added


def reviewed_households(grouped: pl.DataFrame, dispositions: dict[str, tuple[str, ...]]) -> pl.DataFrame:
    """Households the monitoring warnings propose to review (rule dispositions include a review or a suspension),
    from `monitoring.run.group_hits` output: household_id, rule_key."""
    review = [k for k, d in dispositions.items() if any(x in REVIEW_DISPOSITIONS for x in d)]
    return grouped.filter(pl.col("rule_key").is_in(review) & pl.col("household_id").is_not_null()).select(
        "household_id", "rule_key").unique()


def record_reported_deaths(session: Session, *, actor: Actor, grouped: pl.DataFrame) -> int:
    """The review of a death warning: record the date of death the feed reports (through the registry's audited
    correction), so the household is re-assessed without the person. Returns the persons recorded."""
    deaths = grouped.filter((pl.col("rule_key") == "death") & pl.col("person_id").is_not_null()).with_columns(
        died=pl.col("details").list.eval(pl.element().str.extract(r"date_of_death=(\d{4}-\d{2}-\d{2})"))
        .list.drop_nulls().list.first().str.to_date())
    deaths = deaths.filter(pl.col("died").is_not_null())
    if deaths.is_empty():
        return 0
    known = read_frame(session, select(Person.id, Person.version, Person.date_of_death)
                       .where(Person.id.in_(deaths["person_id"].to_list())),
                       schema={"person_id": pl.Int64(), "version": pl.Int64(), "date_of_death": pl.Date()})
    todo = deaths.join(known.filter(pl.col("date_of_death").is_null()), on="person_id")
    for r in todo.iter_rows(named=True):
        writes.update_person(session, actor=actor, household_id=r["household_id"], person_id=r["person_id"],
                             data=PersonUpdate(version=r["version"], date_of_death=r["died"]))
    return todo.height
