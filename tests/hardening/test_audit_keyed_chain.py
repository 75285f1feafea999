"""The audit log has a secret (issue 14 item 12): entries are HMACs under a key kept outside the database; the
entries written before the key are sealed by one signed checkpoint; the HMAC chain written while appends were
serialised still verifies as it stands; later entries are sealed in signed batches; and a signed checkpoint of
the head kept in the file store detects a log cut short with its head row rewound."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.audit.models import AuditEntry, AuditHead
from doudi.auth.permissions import system_actor


def _append(session: Session, n: int) -> list[int]:
    return [audit.record(session, actor=system_actor(name="tester"), action="test.write", object_type="thing",
                         object_id=i, before={"x": i}, after={"x": i + 1}).seq for i in range(n)]


def _legacy(session: Session, *, plain: int, keyed: int) -> None:
    """An installation from before the batch seals: entries 1..plain a SHA-256 chain written before the key,
    then `keyed` HMAC entries each linked to its predecessor, the head at the last (as migration 2600 left it)."""
    prev, key = audit.GENESIS, audit.audit_key()
    for seq in range(1, plain + keyed + 1):
        e = AuditEntry(seq=seq, at=datetime(2026, 11, 30, 9, 0, seq, tzinfo=UTC), actor_id=None, actor="old", ip="",
                       action="test.old", object_type="thing", object_id=str(seq), area_code=None, outcome="ok",
                       changes={}, prev_hash=prev)
        e.hash = prev = audit.entry_hash(e) if seq <= plain else audit.entry_mac(e, key)
        session.add(e)
    n = plain + keyed
    session.flush()
    sealed = {"sealed_seq": plain, "seal_mac": audit._sign(key, "seal", plain, _hash_at(session, plain))} if keyed \
        else {"sealed_seq": None, "seal_mac": None}
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, hash=prev, issued_seq=n, **sealed))
    if session.get_bind().dialect.name == "postgresql":  # as the migration sets it: new numbers after the old
        session.execute(text("SELECT setval('audit_seq', greatest(:n, (SELECT last_value FROM audit_seq)))"), {"n": n})


def _hash_at(session: Session, seq: int) -> str:
    return audit.GENESIS if seq == 0 else session.scalars(select(AuditEntry.hash).where(AuditEntry.seq == seq)).one()


def test_recomputing_a_hash_without_the_key_is_detected(db: Session) -> None:
    seqs = _append(db, 4)
    audit.seal(db)
    assert audit.verify(db) == []
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :s"), {"s": seqs[1]})
    db.expire_all()
    entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == seqs[1])).one()
    entry.hash = audit.entry_hash(entry)  # what an attacker without the key can compute
    db.flush()
    problems = audit.verify(db)
    assert [p.seq for p in problems][:1] == [seqs[1]] and "签名不符" in problems[0].problem
    assert any("第 1 批封存" in p.problem for p in problems)  # and the seal no longer covers what is there
    entry.hash = audit.entry_mac(entry, b"a guessed key")
    db.flush()
    assert audit.verify(db)


def test_entries_before_the_key_are_sealed_once_and_checked(db: Session) -> None:
    _legacy(db, plain=3, keyed=0)
    _append(db, 2)
    assert audit.seal(db).sealed_seq == 3  # the first pass seals entries 1-3 as they stand
    report = audit.verify_report(db)
    assert report.problems == [] and report.sealed_seq == 3 and report.linked_seq == 3 and report.entries == 5
    assert report.seals == 1
    # Rewriting an old entry and recomputing the old segment's hashes (and the head's) breaks the seal's signature.
    db.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    db.expire_all()
    prev = audit.GENESIS
    for e in db.scalars(select(AuditEntry).where(AuditEntry.seq <= 3).order_by(AuditEntry.seq)):
        e.prev_hash = prev
        e.hash = prev = audit.entry_hash(e)
    db.flush()
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))
    problems = audit.verify(db)
    assert [(p.seq, p.problem[:7]) for p in problems] == [(3, "封存检查点签名")]


def test_the_linked_keyed_chain_still_verifies_and_names_an_edit(db: Session) -> None:
    _legacy(db, plain=2, keyed=3)
    seqs = _append(db, 2)
    audit.seal(db)
    report = audit.verify_report(db)
    assert report.problems == [] and (report.sealed_seq, report.linked_seq, report.entries) == (2, 5, 7)
    assert min(seqs) > 5
    db.execute(text("UPDATE audit_log SET object_id = 'x' WHERE seq = 4"))
    db.expire_all()
    assert [(p.seq, "签名不符" in p.problem) for p in audit.verify(db)] == [(4, True)]


def test_truncated_log_with_rewound_head_is_caught_by_the_checkpoint(db: Session, tmp_path: Path) -> None:
    _append(db, 3)
    audit.seal(db)
    _append(db, 2)
    audit.seal(db)
    kept = audit.write_checkpoint(db, directory=tmp_path)
    assert kept["seal_id"] == 2
    assert audit.verify(db, checkpoint_dir=tmp_path) == []
    # Cut the second batch and its seal, and rewind the head to the first: the log itself is consistent again.
    first = db.scalars(select(AuditEntry).where(AuditEntry.seal_id == 1)).first()
    assert first is not None
    db.execute(text("DELETE FROM audit_log WHERE seal_id = 2"))
    db.execute(text("DELETE FROM audit_seals WHERE id = 2"))
    mac1 = db.execute(text("SELECT mac FROM audit_seals WHERE id = 1")).scalar_one()
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(batch_seal_id=1, batch_seal_mac=mac1))
    db.expire_all()
    assert audit.verify(db) == []
    problems = audit.verify(db, checkpoint_dir=tmp_path)
    assert len(problems) == 1 and "封存被截断" in problems[0].problem and "第 2 批" in problems[0].problem


def test_truncated_linked_chain_is_caught_by_an_older_checkpoint(db: Session, tmp_path: Path) -> None:
    _legacy(db, plain=0, keyed=5)
    audit.seal(db)
    audit.write_checkpoint(db, directory=tmp_path)
    third = _hash_at(db, 3)
    db.execute(text("DELETE FROM audit_log WHERE seq > 3"))
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=3, hash=third))
    db.expire_all()
    assert audit.verify(db) == []
    problems = audit.verify(db, checkpoint_dir=tmp_path)
    assert len(problems) == 1 and "链尾被截断" in problems[0].problem and "第 5 条" in problems[0].problem


def test_a_checkpoint_from_before_the_batch_seals_still_verifies(db: Session, tmp_path: Path) -> None:
    _legacy(db, plain=0, keyed=2)
    audit.seal(db)
    at = "2026-12-01T00:00:00+00:00"
    head = _hash_at(db, 2)
    old = {"seq": 2, "hash": head, "at": at, "mac": audit._sign(audit.audit_key(), "head", 2, head, at)}
    (tmp_path / audit.CHECKPOINT).write_text(json.dumps(old))
    assert audit.verify(db, checkpoint_dir=tmp_path) == []


def test_a_forged_checkpoint_file_is_detected(db: Session, tmp_path: Path) -> None:
    _append(db, 2)
    audit.seal(db)
    audit.write_checkpoint(db, directory=tmp_path)
    path = tmp_path / audit.CHECKPOINT
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "seal_id": 0}))
    problems = audit.verify(db, checkpoint_dir=tmp_path)
    assert [p.problem for p in problems] == ["链尾检查点文件签名不符（检查点被改动）"]


def test_appends_leave_the_linked_head_and_the_seals_alone(db: Session) -> None:
    # An append moves neither the linked chain's end nor the seals (PostgreSQL numbers it from a sequence and
    # does not write the head row at all; SQLite moves only the head's counter).
    before = db.execute(select(AuditHead.seq, AuditHead.hash, AuditHead.batch_seal_id)).one()
    _append(db, 3)
    assert db.execute(select(AuditHead.seq, AuditHead.hash, AuditHead.batch_seal_id)).one() == before
