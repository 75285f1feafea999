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
from doudi.db.frames import read_frame
from doudi.registry import writes
from doudi.registry.models import Household, Membership, Person
from doudi.registry.schemas import PersonUpdate
from doudi.verification import facts as feed_facts
from doudi.verification import service as feed_service

CHUNK = 20_000  # persons per read of linked feed rows
REVIEW_DISPOSITIONS = ("review", "suspend")
MOVED_OUT = feed_service.MOVED_OUT  # a warning that proposes a review (复核) of the household


def verify_county(session: Session, *, actor: Actor, on: date, area: str = "") -> int:
    """Turn every linked feed row of every current member in the actor's area (and `area`) into a registry fact
    (source_kind='feed'), skipping rows already recorded, and end the memberships of members the 户籍 feed reports
    as moved out by `on`; returns the number of facts added. All or nothing in the caller's transaction."""
    actor.require("verification.request")
    begin_write(session)  # one writer at a time on SQLite; the facts' unique key stops a concurrent repeat elsewhere
    stmt = (select(Membership.person_id, Membership.household_id)
            .join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_to.is_(None), area_clause(Household.area_code, actor)))
    members = read_frame(session, under(stmt, Household.area_code, area),
                         schema={"person_id": pl.Int64(), "household_id": pl.Int64()})
    parts, moves = [], []
    for start in range(0, members.height, CHUNK):
        chunk = members.slice(start, CHUNK)
        records = feed_facts.load_feed(session, person_ids=chunk["person_id"].to_list())
        parts.append(feed_facts.feed_facts(records, chunk, as_of=on))
        moves.append(feed_facts.moves_out(records, chunk, as_of=on))
    facts = pl.concat(parts) if parts else pl.DataFrame(schema=feed_facts.FACT_SCHEMA)
    added = feed_facts.store_facts(session, facts, recorded_by=actor.user_id).height
    # Members the 户籍 feed reports as moved out leave the household on that date, through the registry writer.
    moved = pl.concat(moves) if moves else pl.DataFrame(schema=feed_facts.MOVES_SCHEMA)
    ended = writes.end_memberships(session, actor=actor, moves=moved, reason=MOVED_OUT).height if moved.height else 0
    audit.record(session, actor=actor, action="targeting.verify_county", object_type="area", object_id=0,
                 area_code=area or None, extra={"on": on.isoformat(), "persons": members.height, "facts_added": added,
                                                "members_moved_out": ended})
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
