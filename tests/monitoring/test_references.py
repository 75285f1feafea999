"""A warning's person, household and run are enforced by the database (triggers, checked once per statement on
PostgreSQL, migration 2310): a warning of a missing person is refused, in one statement with good ones
writes nothing; a reference moved to a missing row is refused; a referenced person cannot be deleted."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
import pytest
from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.db.frames import write_frame
from doudi.monitoring.models import MonitorRun, MonitorWarning
from doudi.monitoring.run import run
from doudi.registry.models import Person
from tests.conftest import Database
from tests.monitoring.builders import ON, county, death_feed

REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


def _death(db: Session, tmp_path: Path) -> MonitorWarning:
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=system_actor(name="test"), on=ON, area="370784")
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "death"))
    assert w is not None and w.person_id == head.id
    return w


def _columns(db: Session, w: MonitorWarning) -> dict[str, object]:
    """A stored warning's columns without its id: a row to insert again under other keys."""
    table = MonitorWarning.__table__
    row = dict(db.execute(select(*table.c).where(table.c.id == w.id)).mappings().one())
    del row["id"]
    return row


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(MonitorWarning)) or 0)


def test_a_warning_needs_its_person_household_and_run(db: Session, tmp_path: Path) -> None:
    w = _death(db, tmp_path)
    before = _count(db)
    missing = int(db.scalar(select(func.max(Person.id))) or 0) + 1000
    # One insert statement of the death warning copied twice under new keys, one copy naming a missing person.
    row = _columns(db, w)
    copies = [{**row, "open_key": f"k{i}", "subject_key": f"s{i}"} for i in range(2)]
    with pytest.raises(REFUSED), db.begin_nested():
        db.execute(insert(MonitorWarning), [copies[0], {**copies[1], "person_id": missing}])
    assert _count(db) == before  # nothing of the refused statement was written
    db.execute(insert(MonitorWarning), copies)  # both copies name existing rows: accepted
    assert _count(db) == before + 2
    for col in ("person_id", "household_id", "run_id"):
        with pytest.raises(REFUSED), db.begin_nested():
            db.execute(update(MonitorWarning).where(MonitorWarning.id == w.id).values({col: missing}))
    # an empty reference is allowed (a discovery warning names no household)
    db.execute(update(MonitorWarning).where(MonitorWarning.id == w.id).values(household_id=None))
    with pytest.raises(REFUSED), db.begin_nested():
        db.execute(delete(Person).where(Person.id == w.person_id))
    assert db.get(Person, w.person_id) is not None


def test_a_large_statement_is_checked_as_strictly(db: Session, tmp_path: Path) -> None:
    """Above 5,000 persons PostgreSQL checks them in one hash join (migration 2700): one missing person among
    5,001 still refuses the whole statement, and the planner setting the check turns off is back afterwards."""
    w = _death(db, tmp_path)
    before = _count(db)
    start = int(db.scalar(select(func.max(Person.id))) or 0) + 1
    n = 5001
    write_frame(db, Person, pl.DataFrame({
        "id": range(start, start + n), "id_number": [f"B{i:017d}" for i in range(n)], "name": ["批量"] * n,
        "sex": ["M"] * n, "birth_date": [date(1950, 1, 1)] * n}))
    row = _columns(db, w)
    copies = [{**row, "open_key": f"big{i}", "subject_key": f"p{start + i}", "person_id": start + i}
              for i in range(n)]
    with pytest.raises(REFUSED), db.begin_nested():
        db.execute(insert(MonitorWarning), [*copies, {**row, "open_key": "bigx", "person_id": start + n + 10}])
    assert _count(db) == before
    db.execute(insert(MonitorWarning), copies)
    assert _count(db) == before + n
    if db.get_bind().dialect.name == "postgresql":
        assert db.scalar(text("SHOW enable_nestloop")) == "on"


@pytest.mark.parametrize(("column", "label"), [("person_id", "人员"), ("household_id", "家庭"),
                                              ("run_id", "比对批次")])
def test_each_missing_reference_is_named_in_a_statement_of_good_rows(db: Session, tmp_path: Path, column: str,
                                                                     label: str) -> None:
    """Each reference is checked over the whole statement: the refusal names the one that is missing, although
    the statement's other rows, and its other references, are good."""
    w = _death(db, tmp_path)
    before = _count(db)
    row = _columns(db, w)
    good = [{**row, "open_key": f"g{i}", "subject_key": f"g{i}"} for i in range(3)]
    bad = {**row, "open_key": "bad", "subject_key": "bad", column: 10_000_000}
    with pytest.raises(REFUSED) as refused, db.begin_nested():
        db.execute(insert(MonitorWarning), [*good, bad])
    assert f"引用的{label}不存在" in str(refused.value)
    assert _count(db) == before


def _person(engine: Engine, id_number: str) -> int:
    """A person no other row refers to (deletable), committed."""
    with engine.begin() as c:
        return int(c.execute(insert(Person).values(id_number=id_number, name="待删", sex="M",
                                                   birth_date=date(1950, 1, 1)).returning(Person.id)).scalar_one())


def _warning(conn: Connection, pid: int, run_id: int | None = None) -> None:
    conn.execute(insert(MonitorWarning).values(
        rule_key="death", level="red", subject_key=f"p{pid}", open_key=f"death:p{pid}", person_id=pid,
        run_id=run_id, area_code="370784001001", first_seen_on=ON, last_seen_on=ON, due_on=ON))


def _person_delete(pid: int) -> Callable[[Connection], None]:
    def remove(conn: Connection) -> None:
        conn.execute(delete(Person).where(Person.id == pid))

    return remove


def _second_waits(engine: Engine, first: Callable[[Connection], None], second: Callable[[Connection], None]) -> str:
    """`first` in a transaction left open, `second` in a thread: the second must still be waiting 1.5 s later;
    after the first commits it ends. Returns the database's refusal of the second ('' if it went through)."""
    outcome: dict[str, str] = {}

    def run_second() -> None:
        try:
            with engine.begin() as conn:
                second(conn)
        except IntegrityError as exc:
            outcome["refused"] = str(exc.orig)

    with engine.connect() as conn:
        tx = conn.begin()
        first(conn)
        thread = threading.Thread(target=run_second)
        thread.start()
        thread.join(1.5)
        assert thread.is_alive() and not outcome  # waiting for the first
        tx.commit()
    thread.join(30)
    assert not thread.is_alive()
    return outcome.get("refused", "")


def test_a_person_delete_and_a_warning_write_wait_for_each_other(fresh_database: Database) -> None:
    """PostgreSQL checks a warning's person without locking it (migration 2700): the person's delete waits for
    the ledger's writers instead. Either order ends with the warning's person in place, never a warning naming a
    deleted person."""
    if fresh_database.backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two cannot interleave")
    engine = fresh_database.engine
    # A warning being written (not committed yet): the delete waits for it, then finds it and is refused.
    pid = _person(engine, "370784195001010011")
    refused = _second_waits(engine, lambda conn: _warning(conn, pid), _person_delete(pid))
    assert "仍被监测预警引用" in refused
    # A delete in progress first: the writer waits for it, then finds the person gone and is refused.
    pid = _person(engine, "370784195001010027")
    refused = _second_waits(engine, _person_delete(pid), lambda conn: _warning(conn, pid))
    assert "引用的人员不存在" in refused
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(MonitorWarning)) == 1


def test_the_ledger_keeps_room_for_evidence_on_postgresql(db: Session) -> None:
    """Migration 2710: warning pages are filled to 85 %, so new evidence for an open warning is a heap-only
    update (no index touched)."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no fill factor")
    options = db.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'monitoring_warnings'"))
    assert options == ["fillfactor=85"]


def test_a_run_delete_waits_for_the_warnings_naming_it(fresh_database: Database) -> None:
    """A run's delete waits for the transaction writing its warnings (the insert's check locks the run FOR KEY
    SHARE, and the delete locks the ledger, migration 2700), then finds them and is refused."""
    if fresh_database.backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two cannot interleave")
    engine = fresh_database.engine
    pid = _person(engine, "370784195001010035")
    with engine.begin() as c:
        run_id = int(c.execute(insert(MonitorRun).values(run_on=ON).returning(MonitorRun.id)).scalar_one())

    def write(conn: Connection) -> None:
        _warning(conn, pid, run_id)

    def remove(conn: Connection) -> None:
        conn.execute(delete(MonitorRun).where(MonitorRun.id == run_id))

    refused = _second_waits(engine, write, remove)
    assert "仍被监测预警引用" in refused
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(MonitorRun)) == 1
