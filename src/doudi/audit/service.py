"""Append to, seal and verify the signed audit log. Appends happen inside the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry, AuditHead, AuditSeal
from doudi.auth.permissions import Actor
from doudi.config import get_settings
from doudi.core.errors import Conflict
from doudi.core.masking import mask_record
from doudi.db.engine import begin_write

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

    next_pg: Any  # the entry's number from the sequence: no lock, so appends do not wait for each other
    next_sqlite: Any  # SQLite: the head's counter (its writers are serialised by the database anyway)
    insert: Any
    columns: tuple[str, ...]


@cache
def _statements() -> _Statements:
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    columns = tuple(c.key for c in table.columns if c.key not in ("id", "seal_id"))
    entry = insert(table).values({c: bindparam(f"e_{c}", type_=table.c[c].type) for c in columns})
    head: Table = AuditHead.__table__  # type: ignore[assignment]  # Core: no ORM bookkeeping for a row never loaded
    issue = (update(head).where(head.c.id == 1).values(issued_seq=head.c.issued_seq + 1)
             .returning(head.c.issued_seq))
    return _Statements(select(func.nextval("audit_seq")), issue, entry, columns)


def _next_seq(session: Session, stmts: _Statements) -> int:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return int(conn.execute(stmts.next_pg).scalar_one())
    seq = conn.execute(stmts.next_sqlite).scalar_one_or_none()
    if seq is None:  # the head row was removed by hand: start it again after the highest entry
        seq = int(session.execute(select(func.coalesce(func.max(AuditEntry.seq), 0))).scalar_one()) + 1
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS, issued_seq=seq, batch_seal_id=0))
    return int(seq)


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
    """Append one signed entry; it commits (or rolls back) with the caller's transaction, and a sealer (`seal`)
    later signs it into a batch. No lock is taken, so concurrent writers do not wait for each other."""
    stmts = _statements()
    changes: dict[str, Any] = diff(before, after) if (before is not None or after is not None) else {}
    if extra:
        changes["_"] = dict(extra)
    entry = AuditEntry(seq=0, at=datetime.now(UTC), actor_id=actor.user_id, actor=actor.username, ip=actor.ip,
                       action=action, object_type=object_type, object_id=str(object_id), area_code=area_code,
                       outcome=outcome, changes=_jsonable(changes), prev_hash="")
    session.flush()  # as the session's own execute would: the caller's pending changes go first, in order
    entry.seq = _next_seq(session, stmts)
    entry.hash = entry_mac(entry, audit_key())
    # The entry is written as a plain row, not through the unit of work; the returned object is not in the session.
    session.connection().execute(stmts.insert, {f"e_{c}": getattr(entry, c) for c in stmts.columns})
    return entry


@dataclass(frozen=True)
class SealResult:
    """What one sealing pass did: the end of the pre-key segment, and the new batches and entries it sealed."""

    sealed_seq: int | None
    batches: int
    entries: int


def _batch_digest(pairs: Iterable[tuple[int, str]]) -> str:
    h = hashlib.sha256()
    for seq, mac in pairs:
        h.update(f"{seq}:{mac}\n".encode())
    return h.hexdigest()


def _seal_mac(key: bytes, seal_id: int, entries: int, first: int, last: int, digest: str, prev: str) -> str:
    return _sign(key, "batch", seal_id, entries, first, last, digest, prev)


def pending(session: Session) -> bool:
    """Whether a sealing pass has anything to do (a read: no lock is taken, on SQLite either)."""
    head = _read_head(session)
    if head is None or (head.sealed_seq is None and head.seq > 0):  # pre-key entries to seal
        return True
    return session.execute(select(AuditEntry.seq).where(AuditEntry.seal_id.is_(None), AuditEntry.seq > head.seq)
                           .limit(1)).first() is not None


def seal(session: Session, *, wait: bool = True, batch_size: int = 100_000) -> SealResult:
    """Sign every committed, unsealed entry into batches (each seal chained to the one before), and seal the
    entries written before the chain had a key with one signed checkpoint (once). With `wait=False` a pass that
    finds another sealer at work returns at once (PostgreSQL); the other one seals the same entries."""
    key = audit_key()
    begin_write(session)  # SQLite: a writer from the start, or the read below could not be followed by the write
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update(skip_locked=not wait)
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        if not wait:
            return SealResult(None, 0, 0)
        top = int(session.execute(select(func.coalesce(func.max(AuditEntry.seq), 0))).scalar_one())
        head = AuditHead(id=1, seq=0, hash=GENESIS, issued_seq=top, batch_seal_id=0)
        session.add(head)
    if head.sealed_seq is None:  # the first pass since the chain got a key: seal what came before, unchanged
        head.sealed_seq, head.seal_mac = head.seq, _sign(key, "seal", head.seq, head.hash)
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    batches = entries = 0
    while True:
        seal_id = head.batch_seal_id + 1
        todo = (select(table.c.seq).where(table.c.seal_id.is_(None), table.c.seq > head.seq)
                .order_by(table.c.seq).limit(batch_size))
        # Only committed entries are seen: one still being written is sealed by a later pass, whatever its seq.
        rows = sorted((int(seq), str(mac)) for seq, mac in session.execute(
            update(table).where(table.c.seq.in_(todo.scalar_subquery())).values(seal_id=seal_id)
            .returning(table.c.seq, table.c.hash)))
        if not rows:
            break
        digest = _batch_digest(rows)
        prev = head.batch_seal_mac or GENESIS
        mac = _seal_mac(key, seal_id, len(rows), rows[0][0], rows[-1][0], digest, prev)
        session.add(AuditSeal(id=seal_id, at=datetime.now(UTC), entries=len(rows), first_seq=rows[0][0],
                              last_seq=rows[-1][0], digest=digest, prev_mac=prev, mac=mac))
        head.batch_seal_id, head.batch_seal_mac = seal_id, mac
        batches, entries = batches + 1, entries + len(rows)
        if len(rows) < batch_size:
            break
    session.flush()
    return SealResult(head.sealed_seq, batches, entries)


@dataclass
class ChainProblem:
    """One break in the chain: which entry, and what is wrong with it."""

    seq: int
    entry_id: int | None
    problem: str


@dataclass
class ChainReport:
    """The outcome of a walk over the log: its segments, the external checkpoint, and every problem."""

    entries: int
    sealed_seq: int | None  # entries 1..sealed_seq: plain SHA-256 chain, sealed by one signed checkpoint
    head_seq: int  # the newest entry's number
    head_hash: str  # the newest seal's signature (the linked chain's last hash before the first seal)
    linked_seq: int = 0  # entries sealed_seq+1..linked_seq: the HMAC chain, each linked to its predecessor
    seals: int = 0  # signed batches after the linked chain
    unsealed: int = 0  # signed entries not yet in a batch (the sealer runs every few seconds)
    checkpoint_seq: int | None = None  # the signed head kept in the file store, when one was checked
    checkpoint_seal: int | None = None
    problems: list[ChainProblem] = field(default_factory=list)


def verify(session: Session, *, batch_size: int = 5000, checkpoint_dir: Path | None = None) -> list[ChainProblem]:
    """Every problem of the log (see verify_report)."""
    return verify_report(session, batch_size=batch_size, checkpoint_dir=checkpoint_dir).problems


def _read_head(session: Session) -> AuditHead | None:
    return session.execute(select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
                           ).scalar_one_or_none()


def verify_report(session: Session, *, batch_size: int = 5000, checkpoint_dir: Path | None = None) -> ChainReport:
    """Walk the whole log: the pre-key entries by SHA-256 and their seal by its signature, the linked HMAC chain,
    then every later entry by its own HMAC and every batch seal by its signature, its link to the seal before it
    and a digest of the entries it covers. Reports edited, deleted and moved entries, a head that does not match
    and, against the signed checkpoint in `checkpoint_dir` (the file store), a log cut short."""
    key = audit_key()
    head = _read_head(session)
    linked = head.seq if head is not None else 0
    report = ChainReport(entries=0, sealed_seq=head.sealed_seq if head is not None else None, head_seq=0,
                         head_hash=GENESIS, linked_seq=linked)
    checkpoint = read_checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    at_checkpoint = _walk_linked(session, report, key, head, batch_size,
                                 int(checkpoint["seq"]) if checkpoint is not None else None)
    seal_macs = _walk_batches(session, report, key, head, batch_size,
                              int(checkpoint.get("seal_id", 0)) if checkpoint is not None else None)
    if checkpoint is not None:
        _check_checkpoint(report, key, checkpoint, at_checkpoint, seal_macs)
    return report


def _walk_linked(session: Session, report: ChainReport, key: bytes, head: AuditHead | None, batch_size: int,
                 checkpoint_seq: int | None) -> str | None:
    """Check entries 1..head.seq, the chain each links to its predecessor; the hash at `checkpoint_seq`."""
    problems, sealed = report.problems, report.sealed_seq
    prev_hash, expected_seq, last_seq = GENESIS, 1, 0
    seen_sealed, at_checkpoint = GENESIS if not sealed else "", GENESIS if checkpoint_seq == 0 else None
    for entry in _iter_entries(session, batch_size, upto=report.linked_seq):
        report.entries += 1
        while entry.seq > expected_seq:
            problems.append(ChainProblem(expected_seq, None, "条目缺失（已被删除）"))
            expected_seq += 1
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, entry.id, "前序哈希不连续（前一条被改动或删除）"))
        keyed = sealed is not None and entry.seq > sealed
        expected = entry_mac(entry, key) if keyed else entry_hash(entry)
        if not hmac.compare_digest(expected, entry.hash):
            problems.append(ChainProblem(entry.seq, entry.id, "内容与签名不符（条目被改动，或审计密钥不对）" if keyed
                                         else "内容与哈希不符（条目被改动）"))
        if entry.seq == sealed:
            seen_sealed = entry.hash
        if entry.seq == checkpoint_seq:
            at_checkpoint = entry.hash
        prev_hash, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(ChainProblem(head.seq, None, "链尾与记录不符（末尾条目被删除或改动）"))
    if (head is not None and sealed is not None
            and not hmac.compare_digest(_sign(key, "seal", sealed, seen_sealed), head.seal_mac or "")):
        problems.append(ChainProblem(sealed, None, "封存检查点签名不符（封存前的条目被改写，或审计密钥不对）"))
    report.head_seq, report.head_hash = last_seq, prev_hash
    return at_checkpoint


def _walk_batches(session: Session, report: ChainReport, key: bytes, head: AuditHead | None, batch_size: int,
                  checkpoint_seal: int | None) -> dict[int, str]:
    """Check every entry after the linked chain by its own signature, and every batch seal: its signature, its
    link to the one before, and the count and digest of the entries that name it. The signatures of seal 0
    (none) and of `checkpoint_seal`."""
    problems, linked = report.problems, report.linked_seq
    macs = {0: GENESIS}
    seals = _iter_seals(session, batch_size)
    current: AuditSeal | None = None
    covered: list[tuple[int, str]] = []
    prev_mac, expected_id = GENESIS, 1

    def close(seal: AuditSeal) -> None:
        nonlocal prev_mac, expected_id
        report.seals += 1
        where = f"第 {seal.id} 批封存（第 {seal.first_seq}–{seal.last_seq} 条，{seal.entries} 条）"
        if seal.id != expected_id:
            problems.append(ChainProblem(seal.first_seq, None,
                                         f"第 {expected_id}–{seal.id - 1} 批封存缺失（已被删除）"))
        if seal.prev_mac != prev_mac:
            problems.append(ChainProblem(seal.first_seq, None, f"{where}与前一批不衔接（前一批被改动或删除）"))
        if not hmac.compare_digest(_seal_mac(key, seal.id, seal.entries, seal.first_seq, seal.last_seq, seal.digest,
                                             seal.prev_mac), seal.mac):
            problems.append(ChainProblem(seal.first_seq, None, f"{where}签名不符（封存被改动，或审计密钥不对）"))
        elif len(covered) != seal.entries or _batch_digest(covered) != seal.digest:
            problems.append(ChainProblem(seal.first_seq, None, f"{where}的条目与封存不符：现有 {len(covered)} 条"
                                         "（条目被删除、改动或挪动）"))
        if checkpoint_seal is not None and seal.id == checkpoint_seal:
            macs[seal.id] = seal.mac
        prev_mac, expected_id = seal.mac, seal.id + 1
        covered.clear()

    for entry in _iter_batched(session, batch_size, after=linked):
        report.entries += 1
        report.head_seq = max(report.head_seq, entry.seq)
        if not hmac.compare_digest(entry_mac(entry, key), entry.hash):
            problems.append(ChainProblem(entry.seq, entry.id, "内容与签名不符（条目被改动，或审计密钥不对）"))
        if entry.seal_id is None:
            report.unsealed += 1
            continue
        while current is None or current.id < entry.seal_id:
            if current is not None:
                close(current)
            current = next(seals, None)
            if current is None:
                break
        if current is None or current.id != entry.seal_id:
            problems.append(ChainProblem(entry.seq, entry.id, f"所属的第 {entry.seal_id} 批封存不存在"))
            continue
        covered.append((entry.seq, entry.hash))
    for seal in [current, *seals] if current is not None else list(seals):
        close(seal)
    if head is not None and (head.batch_seal_id != expected_id - 1 or (head.batch_seal_mac or GENESIS) != prev_mac):
        problems.append(ChainProblem(report.head_seq, None, f"封存链尾与记录不符：记录为第 {head.batch_seal_id} 批，"
                                     f"现有到第 {expected_id - 1} 批（末尾的封存被删除或改动）"))
    if report.seals:
        report.head_hash = prev_mac
    return macs


def _check_checkpoint(report: ChainReport, key: bytes, checkpoint: Mapping[str, Any], at_checkpoint: str | None,
                      seal_macs: Mapping[int, str]) -> None:
    """Compare the log with the signed checkpoint of its head kept in the file store."""
    problems = report.problems
    seq, seal_id = int(checkpoint["seq"]), int(checkpoint.get("seal_id", 0))
    report.checkpoint_seq, report.checkpoint_seal = seq, seal_id
    parts: tuple[object, ...] = (seq, checkpoint["hash"], checkpoint["at"])
    if "seal_id" in checkpoint:  # since the batch seals; older checkpoints signed the linked head only
        parts = (seq, checkpoint["hash"], seal_id, checkpoint["seal_mac"], checkpoint["at"])
    if not hmac.compare_digest(_sign(key, "head", *parts), str(checkpoint.get("mac", ""))):
        problems.append(ChainProblem(seq, None, "链尾检查点文件签名不符（检查点被改动）"))
        return
    if seq > report.linked_seq:
        problems.append(ChainProblem(seq, None, f"链尾被截断：检查点（{checkpoint['at']}）记录到第 {seq} 条，"
                                     f"数据库只到第 {report.linked_seq} 条"))
    elif seq > 0 and at_checkpoint != checkpoint["hash"]:
        problems.append(ChainProblem(seq, None, "与链尾检查点不符（检查点之前的条目被改写）"))
    if seal_id > report.seals:
        problems.append(ChainProblem(report.head_seq, None, f"封存被截断：检查点（{checkpoint['at']}）记录到第 "
                                     f"{seal_id} 批，数据库只到第 {report.seals} 批"))
    elif seal_id > 0 and seal_macs.get(seal_id) != checkpoint.get("seal_mac"):
        problems.append(ChainProblem(report.head_seq, None, f"第 {seal_id} 批封存与链尾检查点不符（封存被改写）"))


def describe(report: ChainReport) -> list[str]:
    """The report's segments, in words."""
    lines = [f"审计日志完好：{report.entries} 条，链尾签名 {report.head_hash}"]
    sealed, linked = report.sealed_seq, report.linked_seq
    if linked and sealed is None:
        lines.append(f"  第 1–{linked} 条：启用密钥前的 SHA-256 链（尚未封存：下一次封存时签名确认）")
    elif linked:
        if sealed:
            lines.append(f"  第 1–{sealed} 条：启用密钥前的 SHA-256 链，由已签名的封存检查点确认")
        if linked > (sealed or 0):
            lines.append(f"  第 {(sealed or 0) + 1}–{linked} 条：HMAC-SHA256 签名链（审计密钥），逐条链接")
    later = report.entries - linked
    if later:
        lines.append(f"  {'其后' if linked else '全部'} {later} 条：逐条 HMAC-SHA256 签名，分 {report.seals} 批封存，"
                     "各批签名前后相连"
                     + (f"；{report.unsealed} 条待封存" if report.unsealed else ""))
    return lines


CHECKPOINT = "audit-checkpoint.json"


def read_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The signed head checkpoint kept in `directory` (the file store), or None when there is none yet."""
    path = directory / CHECKPOINT
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_checkpoint(session: Session, *, directory: Path) -> dict[str, Any]:
    """Sign the committed head (the linked chain's end and the newest batch seal) and keep it in `directory` (the
    file store, which every backup includes), so a log cut short afterwards is detected even when the head row
    is rewound. Entries not yet sealed are not covered: callers seal first. A checkpoint never moves back: a
    head behind the kept one is a problem to report, not to overwrite."""
    key = audit_key()
    head = _read_head(session)
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
    seal_id, seal_mac = (head.batch_seal_id, head.batch_seal_mac or GENESIS) if head is not None else (0, GENESIS)
    kept = read_checkpoint(directory)
    if kept is not None and (int(kept["seq"]) > seq or int(kept.get("seal_id", 0)) > seal_id):
        raise Conflict(f"审计链尾（第 {seq} 条，第 {seal_id} 批封存）落后于已保存的检查点（第 {kept['seq']} 条，"
                       f"第 {kept.get('seal_id', 0)} 批封存）：日志可能被截断，请运行 doudi audit verify")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    data = {"seq": seq, "hash": digest, "seal_id": seal_id, "seal_mac": seal_mac, "at": at,
            "mac": _sign(key, "head", seq, digest, seal_id, seal_mac, at)}
    directory.mkdir(parents=True, exist_ok=True)
    part = directory / (CHECKPOINT + ".part")
    part.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    part.replace(directory / CHECKPOINT)
    return data


Row = TypeVar("Row", AuditEntry, AuditSeal)


def _keyset(session: Session, query: Callable[[Any], Select[Row]], key: Callable[[Row], Any],
            start: Any) -> Iterator[Row]:
    """Every row of `query(after)`, a page at a time from `start` on, the next page after `key` of the last row;
    each page is let go once read, so memory stays flat on long logs without touching the caller's objects."""
    after = start
    while True:
        rows = list(session.scalars(query(after)))
        if not rows:
            return
        yield from rows
        after = key(rows[-1])
        for row in rows:
            session.expunge(row)


def _iter_entries(session: Session, batch_size: int, *, upto: int) -> Iterator[AuditEntry]:
    """The linked chain's entries in order."""
    return _keyset(session, lambda last: select(AuditEntry).where(AuditEntry.seq > last, AuditEntry.seq <= upto)
                   .order_by(AuditEntry.seq).limit(batch_size), lambda e: e.seq, 0)


def _iter_batched(session: Session, batch_size: int, *, after: int) -> Iterator[AuditEntry]:
    """The entries after the linked chain: the sealed ones by seal and seq, then the unsealed ones by seq."""
    yield from _keyset(session, lambda key: select(AuditEntry).where(
        AuditEntry.seq > after, AuditEntry.seal_id.is_not(None), tuple_(AuditEntry.seal_id, AuditEntry.seq) > key)
        .order_by(AuditEntry.seal_id, AuditEntry.seq).limit(batch_size), lambda e: (e.seal_id, e.seq), (-1, after))
    yield from _keyset(session, lambda last: select(AuditEntry).where(AuditEntry.seq > last,
                                                                     AuditEntry.seal_id.is_(None))
                       .order_by(AuditEntry.seq).limit(batch_size), lambda e: e.seq, after)


def _iter_seals(session: Session, batch_size: int) -> Iterator[AuditSeal]:
    return _keyset(session, lambda last: select(AuditSeal).where(AuditSeal.id > last).order_by(AuditSeal.id)
                   .limit(batch_size), lambda seal: seal.id, 0)
