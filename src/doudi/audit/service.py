"""Append to and verify the hash-chained audit log. Appends happen inside the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry, AuditHead
from doudi.auth.permissions import Actor
from doudi.config import get_settings
from doudi.core.errors import Conflict
from doudi.core.masking import mask_record

GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _payload(entry: AuditEntry) -> bytes:
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
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    """The plain SHA-256 of an entry of the sealed segment (written before the chain had a key)."""
    return hashlib.sha256(_payload(entry)).hexdigest()


def entry_mac(entry: AuditEntry, key: bytes) -> str:
    """The HMAC-SHA256 of an entry over all its content and its predecessor's hash: recomputing it needs the
    audit key, which is kept outside the database."""
    return hmac.new(key, _payload(entry), hashlib.sha256).hexdigest()


def _sign(key: bytes, *parts: object) -> str:
    return hmac.new(key, "|".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()


_key: bytes | None = None


def configure_key(key: str) -> None:
    """Use `key` for the chain's HMAC (the app and commands set it from their settings)."""
    global _key
    _key = key.encode()


def audit_key() -> bytes:
    """The configured audit key, else the process settings' (DOUDI_AUDIT_KEY, or the one kept in data_dir)."""
    return _key if _key is not None else get_settings().resolved_audit_key().encode()


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the fields that changed, as {field: [before, after]}, with sensitive values masked."""
    b = mask_record(dict(before or {}))
    a = mask_record(dict(after or {}))
    return {k: [b.get(k), a.get(k)] for k in sorted(set(a) | set(b)) if b.get(k) != a.get(k)}


@dataclass(frozen=True)
class _Statements:
    """The append's statements, built once: SQLAlchemy then takes their compiled form from its cache, and the
    driver prepares them, instead of constructing and hashing a dozen-column INSERT on every append."""

    move: Any  # takes the head's lock, moves it on, returns the predecessor
    append_pg: Any  # the entry (a data-modifying CTE) and the head's new hash, in one statement
    insert: Any
    set_hash: Any
    columns: tuple[str, ...]


@cache
def _statements() -> _Statements:
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    columns = tuple(c.key for c in table.columns if c.key != "id")
    entry = insert(table).values({c.key: bindparam(f"e_{c.key}", type_=c.type) for c in table.columns
                                  if c.key != "id"})
    head: Table = AuditHead.__table__  # type: ignore[assignment]  # Core tables: no ORM bulk-update bookkeeping for a row the session never loads
    set_hash = update(head).where(head.c.id == 1).values(hash=bindparam("e_hash"))
    move = (update(head).where(head.c.id == 1).values(seq=head.c.seq + 1)
            .returning(head.c.seq, head.c.hash, head.c.sealed_seq))
    return _Statements(move, set_hash.add_cte(entry.cte("entry")), entry, set_hash, columns)


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
    stmts = _statements()
    changes: dict[str, Any] = diff(before, after) if (before is not None or after is not None) else {}
    if extra:
        changes["_"] = dict(extra)
    key = audit_key()
    # Everything that does not need the predecessor is done before the head's lock is taken: the lock is held
    # until the caller commits, so every step after it lengthens the wait of every other writer.
    entry = AuditEntry(seq=0, at=datetime.now(UTC), actor_id=actor.user_id, actor=actor.username, ip=actor.ip,
                       action=action, object_type=object_type, object_id=str(object_id), area_code=area_code,
                       outcome=outcome, changes=_jsonable(changes), prev_hash=GENESIS)
    # One statement takes the head row's write lock (serialising appends on SQLite and PostgreSQL), moves it
    # on and returns the predecessor's hash; the entry and the new head hash follow in one more statement.
    session.flush()  # as the session's own execute would: the caller's pending changes go first, in order
    conn = session.connection()
    row = conn.execute(stmts.move).one_or_none()
    if row is None:  # the first entry of a new installation: nothing to seal
        session.execute(insert(AuditHead).values(id=1, seq=1, hash=GENESIS, sealed_seq=0,
                                                 seal_mac=_sign(key, "seal", 0, GENESIS)))
        seq, prev_hash = 1, GENESIS
    else:
        seq, prev_hash, sealed = row
        if sealed is None:  # the first append since the chain got a key: seal what came before, unchanged
            session.execute(update(AuditHead).where(AuditHead.id == 1).values(
                sealed_seq=seq - 1, seal_mac=_sign(key, "seal", seq - 1, prev_hash)))
    entry.seq, entry.prev_hash = seq, prev_hash
    entry.hash = entry_mac(entry, key)
    # The entry is written as a plain row, not through the unit of work; the returned object is not in the session.
    params = {f"e_{c}": getattr(entry, c) for c in stmts.columns}
    if conn.dialect.name == "postgresql":
        conn.execute(stmts.append_pg, params)
    else:
        conn.execute(stmts.insert, params)
        conn.execute(stmts.set_hash, {"e_hash": entry.hash})
    return entry


def seal(session: Session) -> int | None:
    """Seal the entries written before the chain had a key with one signed checkpoint (idempotent); the
    sealed sequence number, or None for an empty chain."""
    key = audit_key()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        return None
    if head.sealed_seq is None:
        head.sealed_seq, head.seal_mac = head.seq, _sign(key, "seal", head.seq, head.hash)
        session.flush()
    return head.sealed_seq


@dataclass
class ChainProblem:
    """One break in the chain: which entry, and what is wrong with it."""

    seq: int
    entry_id: int | None
    problem: str


@dataclass
class ChainReport:
    """The outcome of a walk over the chain: its two segments, the external checkpoint, and every problem."""

    entries: int
    sealed_seq: int | None  # entries 1..sealed_seq: plain SHA-256 chain, sealed by one signed checkpoint
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None = None  # the signed head kept in the file store, when one was checked
    problems: list[ChainProblem] = field(default_factory=list)


def verify(session: Session, *, batch_size: int = 5000, checkpoint_dir: Path | None = None) -> list[ChainProblem]:
    """Every problem of the chain (see verify_report)."""
    return verify_report(session, batch_size=batch_size, checkpoint_dir=checkpoint_dir).problems


def verify_report(session: Session, *, batch_size: int = 5000, checkpoint_dir: Path | None = None) -> ChainReport:
    """Walk the whole chain: entries of the sealed segment by SHA-256, the seal by its signature, later entries
    by HMAC with the audit key; report edited and deleted entries, a head that does not match and, against
    the signed checkpoint in `checkpoint_dir` (the file store), a chain cut short."""
    key = audit_key()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
                           ).scalar_one_or_none()
    sealed = head.sealed_seq if head is not None else None
    problems: list[ChainProblem] = []
    prev_hash, expected_seq = GENESIS, 1
    last_seq, count = 0, 0
    seen: dict[int, str] = {}
    checkpoint = read_checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    for entry in _iter_entries(session, batch_size):
        count += 1
        while entry.seq > expected_seq:
            problems.append(ChainProblem(expected_seq, None, "条目缺失（已被删除）"))
            expected_seq += 1
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, entry.id, "前序哈希不连续（前一条被改动或删除）"))
        keyed = sealed is None or entry.seq > sealed
        expected = entry_mac(entry, key) if keyed else entry_hash(entry)
        if not hmac.compare_digest(expected, entry.hash):
            problems.append(ChainProblem(entry.seq, entry.id, "内容与签名不符（条目被改动，或审计密钥不对）" if keyed
                                         else "内容与哈希不符（条目被改动）"))
        if sealed is not None and entry.seq == sealed:
            seen[sealed] = entry.hash
        if checkpoint is not None and entry.seq == checkpoint["seq"]:
            seen[-1] = entry.hash
        prev_hash, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(ChainProblem(head.seq, None, "链尾与记录不符（末尾条目被删除或改动）"))
    if head is not None and sealed is not None:
        sealed_hash = GENESIS if sealed == 0 else seen.get(sealed, "")
        if not hmac.compare_digest(_sign(key, "seal", sealed, sealed_hash), head.seal_mac or ""):
            problems.append(ChainProblem(sealed, None, "封存检查点签名不符（封存前的条目被改写，或审计密钥不对）"))
    if checkpoint is not None:
        if not hmac.compare_digest(_sign(key, "head", checkpoint["seq"], checkpoint["hash"], checkpoint["at"]),
                                   str(checkpoint.get("mac", ""))):
            problems.append(ChainProblem(int(checkpoint["seq"]), None, "链尾检查点文件签名不符（检查点被改动）"))
        elif int(checkpoint["seq"]) > last_seq:
            problems.append(ChainProblem(int(checkpoint["seq"]), None,
                                         f"链尾被截断：检查点（{checkpoint['at']}）记录到第 {checkpoint['seq']} 条，"
                                         f"数据库只到第 {last_seq} 条"))
        elif int(checkpoint["seq"]) > 0 and seen.get(-1) != checkpoint["hash"]:
            problems.append(ChainProblem(int(checkpoint["seq"]), None, "与链尾检查点不符（检查点之前的条目被改写）"))
    return ChainReport(entries=count, sealed_seq=sealed, head_seq=head.seq if head else 0,
                       head_hash=head.hash if head else GENESIS,
                       checkpoint_seq=int(checkpoint["seq"]) if checkpoint is not None else None, problems=problems)


CHECKPOINT = "audit-checkpoint.json"


def read_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The signed head checkpoint kept in `directory` (the file store), or None when there is none yet."""
    path = directory / CHECKPOINT
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_checkpoint(session: Session, *, directory: Path) -> dict[str, Any]:
    """Sign the committed head and keep it in `directory` (the file store, which every backup includes), so a
    chain cut short afterwards is detected even when the head row is rewound. A checkpoint never moves back:
    a head behind the kept one is a problem to report, not to overwrite."""
    key = audit_key()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
                           ).scalar_one_or_none()
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
    kept = read_checkpoint(directory)
    if kept is not None and int(kept["seq"]) > seq:
        raise Conflict(f"审计链尾（第 {seq} 条）落后于已保存的检查点（第 {kept['seq']} 条）：链尾可能被截断，"
                       "请运行 doudi audit verify")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    data = {"seq": seq, "hash": digest, "at": at, "mac": _sign(key, "head", seq, digest, at)}
    directory.mkdir(parents=True, exist_ok=True)
    part = directory / (CHECKPOINT + ".part")
    part.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    part.replace(directory / CHECKPOINT)
    return data


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
