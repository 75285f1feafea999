"""The audit chain detects edits and deletions, through the service and through `doudi audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit.record(session, actor=system_actor(name="tester"), action="test.write", object_type="thing",
                     object_id=i, before={"x": i}, after={"x": i + 1})


def test_untouched_chain_verifies(db: Session) -> None:
    _append(db, 5)
    assert audit.verify(db) == []


def test_edited_entry_is_named(db: Session) -> None:
    _append(db, 5)
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    db.expire_all()
    problems = audit.verify(db)
    assert [p.seq for p in problems] == [3]
    assert "改动" in problems[0].problem


def test_deleted_entry_is_named(db: Session) -> None:
    _append(db, 5)
    db.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    db.expire_all()
    problems = audit.verify(db)
    assert 2 in [p.seq for p in problems]


def test_deleted_last_entry_is_detected(db: Session) -> None:
    _append(db, 4)
    db.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    db.expire_all()
    assert audit.verify(db), "removing the newest entry must not go unnoticed"


def test_sensitive_values_are_masked_in_changes(db: Session) -> None:
    e = audit.record(db, actor=system_actor(), action="person.update", before={"id_number": "11010519491231002X"},
                     after={"id_number": "110105194912310037"})
    assert e.changes["id_number"] == ["110105********002X", "110105********0037"]


def test_cli_verify_fails_and_names_the_entry(fresh_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as session:
        _append(session, 3)
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "doudi", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "3 条" in ok.stdout
    with fresh_database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET changes = '{}' WHERE seq = 2"))
    bad = subprocess.run([sys.executable, "-m", "doudi", "audit", "verify"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "第 2 条" in bad.stderr
