"""The audit log detects edits, deletions and moved entries, through the service and through `doudi audit verify`:
entries are signed one by one and sealed in signed batches, each seal chained to the one before it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.audit.models import AuditEntry, AuditSeal
from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope


def _append(session: Session, n: int) -> list[int]:
    """Append n entries; their numbers."""
    return [audit.record(session, actor=system_actor(name="tester"), action="test.write", object_type="thing",
                         object_id=i, before={"x": i}, after={"x": i + 1}).seq for i in range(n)]


def test_untouched_log_verifies_before_and_after_sealing(db: Session) -> None:
    _append(db, 5)
    report = audit.verify_report(db)
    assert report.problems == [] and report.entries == 5 and report.unsealed == 5 and report.seals == 0
    done = audit.seal(db)
    assert (done.batches, done.entries) == (1, 5)
    report = audit.verify_report(db)
    assert report.problems == [] and report.unsealed == 0 and report.seals == 1
    assert audit.seal(db).entries == 0  # nothing new: no empty seal


def test_edited_entry_is_named(db: Session) -> None:
    seqs = _append(db, 5)
    audit.seal(db)
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :s"), {"s": seqs[2]})
    db.expire_all()
    problems = audit.verify(db)
    assert [p.seq for p in problems] == [seqs[2]]
    assert "改动" in problems[0].problem


def test_deleted_entry_breaks_its_seal(db: Session) -> None:
    seqs = _append(db, 5)
    audit.seal(db)
    db.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[1]})
    db.expire_all()
    problems = audit.verify(db)
    assert len(problems) == 1 and "第 1 批封存" in problems[0].problem and "现有 4 条" in problems[0].problem


def test_deleted_newest_entry_is_detected(db: Session) -> None:
    seqs = _append(db, 4)
    audit.seal(db)
    db.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seqs[-1]})
    db.expire_all()
    assert audit.verify(db), "removing the newest entry must not go unnoticed"


def test_deleted_newest_seal_is_detected_by_the_head(db: Session) -> None:
    first = _append(db, 2)
    audit.seal(db)
    second = _append(db, 2)
    audit.seal(db)
    db.execute(text("DELETE FROM audit_log WHERE seq IN (:a, :b)"), {"a": second[0], "b": second[1]})
    db.execute(text("DELETE FROM audit_seals WHERE id = 2"))
    db.expire_all()
    problems = audit.verify(db)
    assert len(problems) == 1 and "封存链尾与记录不符" in problems[0].problem, problems
    assert first  # the first batch is intact


def test_an_entry_moved_to_another_seal_breaks_both(db: Session) -> None:
    first = _append(db, 2)
    audit.seal(db)
    _append(db, 2)
    audit.seal(db)
    db.execute(text("UPDATE audit_log SET seal_id = 2 WHERE seq = :s"), {"s": first[0]})
    db.expire_all()
    problems = audit.verify(db)
    assert sorted(p.problem.split("（")[0] for p in problems) == ["第 1 批封存", "第 2 批封存"]


def test_a_forged_seal_is_detected(db: Session) -> None:
    _append(db, 3)
    audit.seal(db)
    db.execute(text("UPDATE audit_seals SET entries = 2 WHERE id = 1"))
    db.expire_all()
    problems = audit.verify(db)
    assert len(problems) == 1 and "签名不符" in problems[0].problem


def test_sensitive_values_are_masked_in_changes(db: Session) -> None:
    e = audit.record(db, actor=system_actor(), action="person.update", before={"id_number": "11010519491231002X"},
                     after={"id_number": "110105194912310037"})
    assert e.changes["id_number"] == ["110105********002X", "110105********0037"]


def test_an_entry_committed_late_is_sealed_by_the_next_pass(fresh_database) -> None:  # type: ignore[no-untyped-def]
    if fresh_database.backend == "sqlite":
        pytest.skip("SQLite runs one writer at a time: an entry cannot commit after a later-numbered one")
    engine = fresh_database.engine
    slow = Session(engine)
    late = _append(slow, 1)[0]  # numbered first, not yet committed
    with session_scope(engine) as s:
        early = _append(s, 1)[0]
    with session_scope(engine) as s:
        assert audit.seal(s).entries == 1  # the uncommitted entry is not seen, so not sealed
    slow.commit()
    slow.close()
    with session_scope(engine) as s:
        assert audit.seal(s).entries == 1
        report = audit.verify_report(s)
        seals = {e.seq: e.seal_id for e in s.scalars(select(AuditEntry))}
    assert late < early and seals == {early: 1, late: 2}
    assert report.problems == [] and report.seals == 2 and report.unsealed == 0


def test_concurrent_writers_and_sealers_lose_nothing(fresh_database) -> None:  # type: ignore[no-untyped-def]
    engine, writers, each = fresh_database.engine, 8, 25
    if fresh_database.backend == "sqlite":
        writers = 4  # one writer at a time on SQLite: the same check, fewer waits
    failures: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        try:
            for _ in range(each):
                with session_scope(engine) as s:
                    _append(s, 1)
        except BaseException as exc:  # the assertion below reports it
            failures.append(exc)

    def sealer() -> None:
        while not stop.is_set():
            try:
                with session_scope(engine) as s:
                    audit.seal(s, wait=False)
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=write) for _ in range(writers)]
    seal_thread = threading.Thread(target=sealer)
    seal_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    seal_thread.join()
    with session_scope(engine) as s:
        audit.seal(s)
        report = audit.verify_report(s)
        covered = s.execute(select(func.coalesce(func.sum(AuditSeal.entries), 0))).scalar_one()
    assert failures == []
    assert report.problems == [] and report.entries == writers * each and report.unsealed == 0
    assert covered == writers * each  # every entry in exactly one seal


def test_cli_verify_fails_and_names_the_entry(fresh_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as session:
        seqs = _append(session, 3)
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "doudi", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "3 条" in ok.stdout and "1 批" in ok.stdout
    with fresh_database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET changes = '{}' WHERE seq = :s"), {"s": seqs[1]})
    bad = subprocess.run([sys.executable, "-m", "doudi", "audit", "verify"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"第 {seqs[1]} 条" in bad.stderr
