"""Append to and verify the hash-chained audit log. Appends happen inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry, AuditHead
from doudi.auth.permissions import Actor
from doudi.core.masking import mask_record

GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def entry_hash(entry: AuditEntry) -> str:
    """The hash of an entry over all its content and its predecessor's hash."""
    payload = {
        "seq": entry.seq,
        "at": _canonical_time(entry.at),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "ip": entry.ip,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "area_code": entry.area_code,
        "outcome": entry.outcome,
        "changes": entry.changes,
        "prev_hash": entry.prev_hash,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the fields that changed, as {field: [before, after]}, with sensitive values masked."""
    b = mask_record(dict(before or {}))
    a = mask_record(dict(after or {}))
    return {k: [b.get(k), a.get(k)] for k in sorted(set(a) | set(b)) if b.get(k) != a.get(k)}


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: object = "",
    area_code: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    outcome: str = "ok",
) -> AuditEntry:
    """Append one entry to the chain; it commits (or rolls back) with the caller's transaction."""
    changes: dict[str, Any] = diff(before, after) if (before is not None or after is not None) else {}
    if extra:
        changes["_"] = dict(extra)
    # Taking the head row's write lock first serialises appends on both SQLite and PostgreSQL.
    bumped = session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        session.add(AuditHead(id=1, seq=1, hash=GENESIS))
        session.flush()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    session.refresh(head)
    entry = AuditEntry(
        seq=head.seq,
        at=datetime.now(UTC),
        actor_id=actor.user_id,
        actor=actor.username,
        ip=actor.ip,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        area_code=area_code,
        outcome=outcome,
        changes=_jsonable(changes),
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    head.hash = entry.hash
    session.add(entry)
    session.flush()
    return entry


@dataclass
class ChainProblem:
    """One break in the chain: which entry, and what is wrong with it."""

    seq: int
    entry_id: int | None
    problem: str


def verify(session: Session, *, batch_size: int = 5000) -> list[ChainProblem]:
    """Walk the whole chain; report edited entries, deleted entries and a head that does not match."""
    problems: list[ChainProblem] = []
    prev_hash, expected_seq = GENESIS, 1
    last_seq = 0
    for entry in _iter_entries(session, batch_size):
        while entry.seq > expected_seq:
            problems.append(ChainProblem(expected_seq, None, "条目缺失（已被删除）"))
            expected_seq += 1
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, entry.id, "前序哈希不连续（前一条被改动或删除）"))
        if entry_hash(entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, entry.id, "内容与哈希不符（条目被改动）"))
        prev_hash, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(ChainProblem(head.seq, None, "链尾与记录不符（末尾条目被删除或改动）"))
    return problems


def _iter_entries(session: Session, batch_size: int) -> Iterable[AuditEntry]:
    last = 0
    while True:
        rows = list(
            session.scalars(select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch_size))
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        for row in rows:  # keep memory flat on long chains without touching the caller's other objects
            session.expunge(row)
