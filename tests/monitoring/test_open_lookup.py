"""A run finds the open warnings of its subjects by key when they are few, or few against the ledger's size
(an incremental run against a province's ledger), and otherwise reads the rules' open warnings whole."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from doudi.db.frames import estimated_rows, write_frame
from doudi.monitoring import run as runner
from doudi.monitoring.models import MonitorWarning

ON = date(2026, 11, 16)
LEDGER = 20  # open 黄 income warnings about people known only from feeds (no person or household row needed)


def _ledger(db: Session) -> None:
    keys = [f"i37078419{n:010d}" for n in range(LEDGER)]
    write_frame(db, MonitorWarning, pl.DataFrame({
        "rule_key": "income_rise", "level": "yellow", "status": "new", "subject_key": keys,
        "open_key": [f"income_rise:{k}" for k in keys], "area_code": "370784001001", "reason": "测试",
        "first_seen_on": ON, "last_seen_on": ON, "due_on": date(2026, 11, 30)}))
    if db.get_bind().dialect.name == "postgresql":
        # Held until the test's rollback, so that no autovacuum resets the statistics meanwhile; ANALYZE counts
        # this transaction's own rows.
        db.execute(text("LOCK TABLE monitoring_warnings IN SHARE UPDATE EXCLUSIVE MODE"))
        db.execute(text("ANALYZE monitoring_warnings"))


def _grouped(n: int) -> pl.DataFrame:
    return pl.DataFrame({"rule_key": "income_rise", "open_key": [f"income_rise:i37078419{k:010d}" for k in range(n)]})


def test_the_ledger_size_comes_from_statistics_on_postgresql_only(db: Session) -> None:
    _ledger(db)
    found = estimated_rows(db, MonitorWarning)
    if db.get_bind().dialect.name == "postgresql":
        assert found == LEDGER
    else:
        assert found is None


def test_subjects_are_looked_up_by_key_when_few_against_the_ledger(db: Session,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # With BY_KEYS = 2: 2 subjects always by key; 3 subjects cost 3 × 4 = 12 row reads by key, under the 20 rows
    # of the ledger (by key where its size is known, PostgreSQL); 5 cost 20, not under 20: read whole.
    monkeypatch.setattr(runner, "BY_KEYS", 2)
    _ledger(db)
    postgres = db.get_bind().dialect.name == "postgresql"
    assert runner._by_keys(db, 2)
    assert runner._by_keys(db, 3) is postgres
    assert not runner._by_keys(db, 5)
    # Either way the same open warnings come back: the subjects' own, with their ids and versions.
    for n in (2, 3, 5, 25):
        got = runner._open_warnings(db, _grouped(n)).sort("open_key")
        assert got["open_key"].to_list() == sorted(_grouped(min(n, LEDGER))["open_key"].to_list())
        assert got["version"].to_list() == [1] * min(n, LEDGER)
        assert got["old"].to_list() == ["[]"] * min(n, LEDGER)
