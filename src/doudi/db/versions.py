"""Optimistic locking: every state change takes the object's next version, exactly once per transaction.

A service that changes an object first `claim`s it with the version the user saw:

    UPDATE t SET version = version + 1 WHERE id = :id AND version = :seen

One row updated means this transaction owns the change; none means someone changed the object since the
user looked (or is changing it right now) and the action is refused with a Conflict (HTTP 409). On
PostgreSQL a second, concurrent claim waits for the first transaction and then finds the version moved on;
on SQLite a writer whose snapshot is stale gets SQLITE_BUSY_SNAPSHOT, which is the same conflict. So of any
number of identical requests exactly one changes the object, and the version goes up even when the change
itself is elsewhere (a termination is a new row beside the enrollment).

Objects of `Versioned` models that are changed without a claim still get their version bumped by the flush
(once per transaction), and the ORM's `WHERE version = …` guards the write itself.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from doudi.core.errors import Conflict
from doudi.db.engine import is_busy as is_busy  # re-exported: the error handlers ask here

_CLAIMED = "doudi_claimed_versions"
SQLITE_BUSY_SNAPSHOT = 517  # a write on a read snapshot another writer has since moved past


def _claimed(session: Session) -> set[Any]:
    claimed: set[Any] = session.info.setdefault(_CLAIMED, set())
    return claimed


def stale_message(seen: int, current: int | None = None, label: str = "该记录") -> str:
    """The Chinese message for a stale or concurrent change."""
    now = f"，当前为第 {current} 版" if current is not None and current != seen else ""
    return f"{label}已被他人修改（您看到的是第 {seen} 版{now}），请刷新后基于最新内容重新操作"


def is_write_conflict(exc: BaseException) -> bool:
    """True for a database error that means another transaction changed the same data first."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.OperationalError):
        return getattr(orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in {"40001", "40P01"}  # serialization failure, deadlock detected


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint violation (a repeat the database refused, e.g. a second open termination)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(orig)
    return (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) == "23505"


def add_unique(session: Session, obj: object, *, message: str) -> None:
    """Insert `obj` in a savepoint; a unique key clash (a concurrent or repeated insert) is a Conflict saying
    `message`, and the caller's transaction stays usable."""
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict(message) from None
        raise


def claim(session: Session, obj: Any, version: int | None = None, *, label: str = "该记录") -> int:
    """Take the object's next version before changing it; `version` is the one the user saw (None: the one
    loaded). Returns the new version; raises Conflict when stale or beaten by a concurrent change. Each
    claim is one action: two actions in one transaction move the version on twice."""
    state = inspect(obj)
    key = state.identity_key
    claimed = _claimed(session)
    if session.is_modified(obj, include_collections=False):
        if key not in claimed:
            raise RuntimeError("claim an object before changing it")
        session.flush()  # what an earlier action of this transaction changed, under the version it took
    current = int(obj.version)
    seen = current if version is None else int(version)
    if seen != current:
        raise Conflict(stale_message(seen, current, label))
    table = state.mapper.local_table
    pk = state.mapper.primary_key[0]
    # A stale snapshot (SQLite) is raised as it is, not as a Conflict: see the module's docstring.
    done = session.execute(update(table).where(pk == state.identity[0], table.c.version == seen)
                           .values(version=seen + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(stale_message(seen, label=label))
    set_committed_value(obj, "version", seen + 1)
    claimed.add(key)
    return seen + 1


def _bump_unclaimed(session: Session, _ctx: Any, _instances: Any) -> None:
    """Versioned objects changed without a claim get the next version, once per transaction."""
    from doudi.db.base import Versioned

    claimed = _claimed(session)
    for obj in list(session.dirty):
        if not isinstance(obj, Versioned) or not session.is_modified(obj, include_collections=False):
            continue
        key = inspect(obj).identity_key
        if key in claimed:
            continue
        obj.version = int(obj.version) + 1
        claimed.add(key)


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CLAIMED, None)


event.listen(Session, "before_flush", _bump_unclaimed)
event.listen(Session, "after_transaction_end", _forget)

__all__ = ["DBAPIError", "claim", "is_busy", "is_unique_violation", "is_write_conflict", "stale_message"]
