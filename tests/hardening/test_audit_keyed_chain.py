"""The audit chain has a secret (issue 14 item 12): entries are HMACs under a key kept outside the database, the
entries written before the key are sealed by one signed checkpoint, and a signed checkpoint of the head kept in
the file store detects a chain cut short with its head row rewound."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.audit.models import AuditEntry, AuditHead
from doudi.auth.permissions import system_actor


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit.record(session, actor=system_actor(name="tester"), action="test.write", object_type="thing",
                     object_id=i, before={"x": i}, after={"x": i + 1})


def _entries(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _rechain(session: Session, *, hasher: object) -> None:
    """What an attacker with database access does: recompute every hash from the first and rewind the head."""
    prev = audit.GENESIS
    for e in _entries(session):
        e.prev_hash = prev
        e.hash = hasher(e)  # type: ignore[operator]
        prev = e.hash
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))


def test_recomputing_every_hash_without_the_key_is_detected(db: Session) -> None:
    _append(db, 4)
    assert audit.verify(db) == []
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    _rechain(db, hasher=audit.entry_hash)  # the old unkeyed hash: passes a plain SHA-256 check
    problems = audit.verify(db)
    # Every entry's signature is wrong now (all were recomputed); the head matches the rewritten chain.
    assert [p.seq for p in problems] == [1, 2, 3, 4]
    assert all("签名不符" in p.problem for p in problems)
    _rechain(db, hasher=lambda e: audit.entry_mac(e, b"a guessed key"))
    assert len(audit.verify(db)) == 4


def test_entries_before_the_key_are_sealed_once_and_checked(db: Session) -> None:
    # An installation from before the key: three plain SHA-256 entries, a head without a seal.
    _append(db, 3)
    _rechain(db, hasher=audit.entry_hash)
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(sealed_seq=None, seal_mac=None))
    _append(db, 2)  # the first keyed append seals entries 1-3 as they stand
    report = audit.verify_report(db)
    assert report.problems == [] and report.sealed_seq == 3 and report.head_seq == 5
    # Rewriting an old entry and recomputing the old segment's hashes breaks the seal's signature and the
    # first keyed entry's link.
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    prev = audit.GENESIS
    for e in _entries(db)[:3]:
        e.prev_hash = prev
        e.hash = prev = audit.entry_hash(e)
    db.flush()
    problems = audit.verify(db)
    assert [p.seq for p in problems] == [4, 3]
    assert "前序哈希不连续" in problems[0].problem and "封存检查点签名不符" in problems[1].problem


def test_truncated_tail_with_rewound_head_is_caught_by_the_checkpoint(db: Session, tmp_path: Path) -> None:
    _append(db, 5)
    kept = audit.write_checkpoint(db, directory=tmp_path)
    assert kept["seq"] == 5
    assert audit.verify(db, checkpoint_dir=tmp_path) == []
    # Cut entries 4 and 5 and rewind the head to entry 3: the chain itself is consistent again.
    third = _entries(db)[2]
    db.execute(text("DELETE FROM audit_log WHERE seq > 3"))
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=3, hash=third.hash))
    assert audit.verify(db) == []
    problems = audit.verify(db, checkpoint_dir=tmp_path)
    assert len(problems) == 1 and "链尾被截断" in problems[0].problem and "第 5 条" in problems[0].problem


def test_a_forged_checkpoint_file_is_detected(db: Session, tmp_path: Path) -> None:
    _append(db, 2)
    audit.write_checkpoint(db, directory=tmp_path)
    path = tmp_path / audit.CHECKPOINT
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "seq": 1}))
    problems = audit.verify(db, checkpoint_dir=tmp_path)
    assert [p.problem for p in problems] == ["链尾检查点文件签名不符（检查点被改动）"]
