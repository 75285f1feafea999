"""Set-based writing of imported facts: one staging table, a handful of statements, no row through Python twice.

The good rows go into a temporary staging table (COPY on PostgreSQL). Then, each statement over the whole set:
1. one UPDATE … FROM takes the current facts whose key is staged with other values out of the current set (their
   `superseded_by` set to a placeholder, so the unique index on current keys takes the correction);
2. one INSERT … SELECT adds the staged rows that have no current fact of their key (new and changed ones);
3. one UPDATE … FROM links each superseded fact to the fact that corrects it. Nothing is overwritten or deleted;
   rows identical to their current fact change nothing.

A county's first import (no imported fact in the table yet) has nothing to compare: on PostgreSQL its rows are
copied straight into the fact table, without the staging table and its second pass.

Foreign keys stay enforced by the database. On PostgreSQL a per-row check costs about three times the insert itself
(household, person, batch and recorder: four lookups and row locks per fact), so a large write has them replaced by
the database's own set-based validation: the fact table's foreign keys are dropped and added again, validated by one
join over every row of the table, before the transaction goes on; a row that breaks one aborts the whole import.
The ids written were resolved by the import's own join (households and members in the user's area), its own batch
and its user, so the validation finds nothing in practice. Likewise the table's secondary indexes, when the write
adds at least as many rows as the table holds: maintained row by row they cost more than the insert itself, so
they are dropped and built again after it, from sorted keys (the unique index on current keys checks every key as
it is built: a clash aborts the import). The price: from the insert to the commit, the fact table and the tables it
refers to are locked (a county's first migration, or a ledger of BULK_ROWS rows or more); a smaller write keeps the
per-row checks and takes no table lock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, and_, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from doudi.db.frames import frame_dialect, read_frame_in, write_frame
from doudi.registry.models import IncomeFact

BULK_ROWS = 50_000  # from this many rows on, PostgreSQL validates the foreign keys set-based (see module doc)
IMPORT_LOCK = 1_600_019  # PostgreSQL advisory lock key: fact imports of the installation, one at a time
PLACEHOLDER = 0  # superseded_by of a fact between leaving the current set and being linked to its correction
_names = itertools.count(1)


@dataclass(frozen=True)
class Counts:
    """What a write did: facts added, current facts superseded by a correction, rows that changed nothing."""

    new: int
    superseded: int
    unchanged: int


def _stage(conn: Connection, fact: Table, rows: pl.DataFrame) -> Table:
    """A temporary table with the rows' columns, typed as the fact table's, filled through db.frames (COPY)."""
    stage = Table(f"_facts_stage_{next(_names)}", MetaData(), *(Column(c, fact.c[c].type) for c in rows.columns),
                  prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    stage.create(conn)
    write_frame(conn, stage, rows)
    return stage


def write_facts(session: Session, model: Any, rows: pl.DataFrame, *, compare: Sequence[str]) -> Counts:
    """Insert new facts, supersede current facts whose `compare` values differ, leave identical ones; the rows
    carry `fact_key` (unique among them). Runs in the caller's transaction."""
    if rows.is_empty():
        return Counts(0, 0, 0)
    session.flush()
    conn = session.connection()
    fact: Table = model.__table__
    # A table without imported facts (a county's first import) has nothing to match: on PostgreSQL the rows are
    # copied straight in (SQLite inserts from its staging table, so a refused row is reported like any statement's).
    keyed = conn.scalar(select(fact.c.id).where(fact.c.fact_key.is_not(None), fact.c.superseded_by.is_(None))
                        .limit(1)) is not None
    if not keyed and frame_dialect(conn).name == "postgresql":
        with bulk_write(conn, fact, rows=rows.height):
            write_frame(conn, fact, rows)
        return Counts(rows.height, 0, 0)
    stage = _stage(conn, fact, rows)
    current = and_(fact.c.fact_key == stage.c.fact_key, fact.c.superseded_by.is_(None))
    differs = or_(*(fact.c[c].is_distinct_from(stage.c[c]) for c in compare))
    # Out of the current set first (a placeholder), so the unique index on current keys takes the correction.
    superseded = conn.execute(update(fact).values(superseded_by=PLACEHOLDER).where(current, differs)
                              .execution_options(preserve_rowcount=True)).rowcount
    fresh = select(*(stage.c[c] for c in rows.columns)).where(~exists().where(current))
    if conn.scalar(select(fact.c.id).where(fact.c.source_kind == "feed").limit(1)) is not None:
        # A declaration the agency's figure superseded (settle_income) is not imported again while unchanged.
        settled, by = fact.alias("settled"), fact.alias("settled_by")
        fresh = fresh.where(~exists().where(
            settled.c.fact_key == stage.c.fact_key, by.c.id == settled.c.superseded_by,
            by.c.source_kind == "feed", *(settled.c[c].is_not_distinct_from(stage.c[c]) for c in compare)))
    pending = rows.height
    if pending >= BULK_ROWS:  # a re-import adds few rows: those are checked one by one, without table locks
        pending = conn.scalar(select(func.count()).select_from(fresh.subquery())) or 0
    with bulk_write(conn, fact, rows=pending):
        added = conn.execute(fact.insert().from_select(list(rows.columns), fresh)
                             .execution_options(preserve_rowcount=True)).rowcount
    if superseded:
        correction = fact.alias("correction")
        conn.execute(update(fact).values(superseded_by=correction.c.id).where(
            fact.c.superseded_by == PLACEHOLDER, correction.c.fact_key == fact.c.fact_key,
            correction.c.superseded_by.is_(None)))
    stage.drop(conn)
    return Counts(added - superseded, superseded, rows.height - added)


def one_import_at_a_time(session: Session) -> None:
    """PostgreSQL: wait until no other fact import is running (a lock held to the end of the transaction). Two
    large imports at once would each hold the registry tables the other needs to rebuild its constraints (the
    database would then abort one); this way the second waits and finds the first's facts."""
    if frame_dialect(session).name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})


@contextmanager
def bulk_write(conn: Connection, table: Table, *, rows: int) -> Iterator[None]:
    """PostgreSQL, a write of BULK_ROWS rows or more: the table's foreign keys are dropped for the block and added
    again after it, as the database defined them, each validated by one query over the whole table instead of one
    check per written row; so are its secondary indexes when the table holds no more rows than the write adds
    (built again from sorted keys). Elsewhere (SQLite checks each row inside its own engine, cheaply), a no-op."""
    if rows < BULK_ROWS or frame_dialect(conn).name != "postgresql":
        yield
        return
    keys = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f' ORDER BY conname"), {"table": table.name}).all()
    held = conn.scalar(select(func.count()).select_from(select(text("1")).select_from(table).limit(rows + 1)
                                                         .subquery())) or 0
    # Indexes of constraints (the primary key) stay: their ids come in ascending, appended at the end.
    indexes = [] if held > rows else conn.execute(text(
        "SELECT CAST(i.indexrelid AS regclass)::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = CAST(:table AS regclass) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"), {"table": table.name}).all()
    quote = conn.dialect.identifier_preparer.quote
    target = quote(table.name)
    for name, _definition in keys:
        conn.execute(text(f"ALTER TABLE {target} DROP CONSTRAINT {quote(name)}"))
    for name, _definition in indexes:  # the name as regclass prints it: quoted where it needs to be
        conn.execute(text(f"DROP INDEX {name}"))
    yield
    if indexes:
        # Sorts in memory for a county's ledger (6M facts need about 1 GB), with one parallel worker: the
        # import's client waits for the builds, so both cores are the database's.
        conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        conn.execute(text("SET LOCAL max_parallel_maintenance_workers = 1"))
    for _name, definition in indexes:  # the server's own text of each index and constraint
        conn.execute(text(definition))
    for name, definition in keys:
        conn.execute(text(f"ALTER TABLE {target} ADD CONSTRAINT {quote(name)} {definition}"))


SETTLE_KEYS = ["household_id", "person_id", "kind", "month"]
SETTLE_SCHEMA = {"id": pl.Int64, "household_id": pl.Int64, "person_id": pl.Int64, "kind": pl.Utf8,
                 "source_kind": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date, "amount": pl.Float64}


def agency_income(session: Session) -> bool:
    """Whether any current income fact came from an agency feed (asked before an import writes: a scan of the
    table then stops at the first such fact, or covers only the facts already there)."""
    return session.scalar(select(IncomeFact.id).where(IncomeFact.source_kind == "feed",
                                                      IncomeFact.superseded_by.is_(None)).limit(1)) is not None


def settle_income(session: Session, months: pl.DataFrame) -> int:
    """Where agency income meets a member's declared income of the same kind and calendar month (`months`:
    household_id, person_id, kind, month), one supersedes the other, for that member, kind and month only: the
    agency figure when it is at least what the member declared (it covers the declaration: hidden income is found);
    the declaration when the agency reports less, since a feed sees one channel of a kind (the pension of a parent
    who declared it under 转移性收入 with the support the children give) and must not erase the rest. Run when feed
    facts arrive and when declared facts are imported, whichever comes second. Facts of a longer period are left to
    the reader's month-by-month ranking. Returns the facts superseded."""
    if months.is_empty() or not agency_income(session):  # nothing to meet: a first migration
        return 0
    months = months.filter(pl.col("person_id").is_not_null()).unique()
    stmt = select(IncomeFact.id, IncomeFact.household_id, IncomeFact.person_id, IncomeFact.kind,
                  IncomeFact.source_kind, IncomeFact.period_start, IncomeFact.period_end, IncomeFact.amount).where(
        IncomeFact.superseded_by.is_(None), IncomeFact.person_id.is_not(None),
        IncomeFact.source_kind.in_(["declared", "feed"]))
    facts = (read_frame_in(session, stmt, IncomeFact.household_id, months["household_id"].unique().sort().to_list(),
                           schema=SETTLE_SCHEMA)
             .filter(pl.col("period_start").dt.month_start() == pl.col("period_end").dt.month_start())
             .with_columns(month=pl.col("period_start").dt.month_start())
             .join(months, on=SETTLE_KEYS, how="semi"))
    declared, feed = pl.col("source_kind") == "declared", pl.col("source_kind") == "feed"
    groups = facts.group_by(SETTLE_KEYS).agg(
        said=pl.col("amount").filter(declared).sum(), found=pl.col("amount").filter(feed).sum(),
        n_said=declared.sum(), n_found=feed.sum(),
        first_said=pl.col("id").filter(declared).min(), first_found=pl.col("id").filter(feed).min(),
    ).filter((pl.col("n_said") > 0) & (pl.col("n_found") > 0)).with_columns(
        covers=pl.col("found").round(2) >= pl.col("said").round(2))
    settled = facts.join(groups, on=SETTLE_KEYS).filter(pl.when(pl.col("covers")).then(declared).otherwise(feed))
    links = settled.select("id", superseded_by=pl.when(pl.col("covers")).then("first_found").otherwise("first_said"))
    return write_frame(session, IncomeFact, links, mode="update", match=["id"]).rows
