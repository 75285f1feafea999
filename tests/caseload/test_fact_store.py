"""Set-based fact writing: the bulk path keeps every foreign key enforced, a correction supersedes on the bulk path too,
and a row the database refuses aborts the whole write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.registry import fact_store
from doudi.registry.facts_import import import_facts
from doudi.registry.models import Household, IncomeFact
from tests.caseload.test_caseload_import import ACTOR, HEAD, SPOUSE, _registry, _write

HEADER = ["household_no", "id_number", "kind", "month", "amount"]


def _foreign_keys(db: Session) -> set[str]:
    return {fk["name"] for fk in inspect(db.connection()).get_foreign_keys("income_facts") if fk["name"]}


def _indexes(db: Session) -> set[tuple[str | None, bool]]:
    return {(ix["name"], bool(ix["unique"])) for ix in inspect(db.connection()).get_indexes("income_facts")}


def _validated(db: Session) -> bool:
    """PostgreSQL: every foreign key of the fact table is validated (SQLite keeps no such state)."""
    if db.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.scalar(text("SELECT bool_and(convalidated) FROM pg_constraint "
                               "WHERE conrelid = 'income_facts'::regclass AND contype = 'f'")))


def test_bulk_write_keeps_foreign_keys_and_supersedes(db: Session, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _registry(db, tmp_path)
    before, indexes = _foreign_keys(db), _indexes(db)
    # Every write counts as large, so the set-based validation runs on these few rows.
    monkeypatch.setattr(fact_store, "BULK_ROWS", 1)
    first = import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "a.csv", HEADER, [
        ["H1", HEAD, "wage", "2026-09", "2500"], ["H1", SPOUSE, "wage", "2026-09", "800"]]))
    assert (first.new, first.superseded, first.unchanged) == (2, 0, 0)
    # The same two rows with the spouse's September corrected, plus a new October: 1 new, 1 superseded, 1 unchanged.
    again = import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "b.csv", HEADER, [
        ["H1", SPOUSE, "wage", "2026-09", "850"], ["H1", HEAD, "wage", "2026-09", "2500"],
        ["H1", HEAD, "wage", "2026-10", "2500"]]))
    assert (again.new, again.superseded, again.unchanged) == (1, 1, 1)
    # The indexes dropped for the load (the table held fewer rows than each write added) are back, unique as before.
    assert _indexes(db) == indexes and ("uq_income_facts_fact_key_current", True) in indexes
    assert _foreign_keys(db) == before and _validated(db) and {"fk_income_facts_household_id_households",
                                            "fk_income_facts_person_id_persons"} <= before
    rows = db.execute(select(IncomeFact.id, IncomeFact.amount, IncomeFact.superseded_by)
                      .where(IncomeFact.person_id.is_not(None)).order_by(IncomeFact.id)).all()
    # The spouse's 800 is kept, linked to the 850 that corrects it; the head's September is not written twice.
    assert [(r.amount, r.superseded_by) for r in rows] == [
        (Decimal("2500.00"), None), (Decimal("800.00"), rows[2].id), (Decimal("850.00"), None),
        (Decimal("2500.00"), None)]


def test_a_row_the_database_refuses_aborts_the_bulk_write(db: Session, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _registry(db, tmp_path)
    monkeypatch.setattr(fact_store, "BULK_ROWS", 1)
    good = db.scalar(select(func.min(Household.id)))
    rows = pl.DataFrame({"household_id": [good, 999_999], "kind": ["wage", "wage"],
                         "source_kind": ["declared", "declared"], "period_start": [date(2026, 9, 1)] * 2,
                         "period_end": [date(2026, 9, 30)] * 2, "note": ["", ""], "fact_key": ["k1", "k2"],
                         "amount": [100.0, 200.0]})
    nested = db.begin_nested()
    # Household 999999 does not exist: the validation (PostgreSQL) or the row check (SQLite) refuses the write.
    with pytest.raises(IntegrityError):
        fact_store.write_facts(db, IncomeFact, rows, compare=["amount"])
    nested.rollback()
    assert db.scalar(select(func.count()).select_from(IncomeFact)) == 0
    assert {"fk_income_facts_household_id_households", "fk_income_facts_person_id_persons"} <= _foreign_keys(db)
    assert _validated(db)


def test_fact_imports_run_one_at_a_time_on_postgresql(db: Session, tmp_path: Path) -> None:
    _registry(db, tmp_path)
    done = import_facts(db, actor=ACTOR, kind="income", path=_write(tmp_path / "a.csv", HEADER,
                                                                   [["H1", HEAD, "wage", "2026-09", "2500"]]))
    assert (done.new, done.rows_rejected) == (1, 0)
    if db.get_bind().dialect.name != "postgresql":
        return  # SQLite runs one writer at a time anyway
    # The import holds the installation's import lock until its transaction ends: a second import waits.
    held = db.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                          "AND objid = :key AND granted"), {"key": fact_store.IMPORT_LOCK})
    assert held == 1
