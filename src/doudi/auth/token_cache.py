"""Bearer tokens verified in memory for a few seconds, so a burst of API calls reads no database.

An entry holds the actor a token resolved to and is kept at most ``TTL_SECONDS`` and never past the token's
own expiry. Every change that ends or alters access in this process (revocation, deactivation, lock-out, a
new password, changed roles or area) empties the cache at once; another worker process sees such a change
within ``TTL_SECONDS``. Only valid tokens are kept: an unknown, revoked or expired token is looked up again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from doudi.auth.permissions import Actor

# Why 10 s: the longest a revocation made in another worker process may go unseen; short next to a
# token's lifetime, long enough that one client's series of calls reads the token once.
TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    actor: Actor  # without the caller's address (set per request)
    token_expires: datetime  # aware UTC
    kept_until: float  # time.monotonic()


_lock = threading.Lock()
_entries: dict[str, _Entry] = {}
_generation = 0


def generation() -> int:
    """A counter that moves whenever the cache is emptied (taken before a database lookup)."""
    return _generation


def get(digest: str, now: datetime) -> Actor | None:
    """The cached actor of a token digest, or None when not kept or out of date."""
    entry = _entries.get(digest)
    if entry is None:
        return None
    if entry.kept_until <= time.monotonic() or entry.token_expires <= now:
        with _lock:
            _entries.pop(digest, None)
        return None
    return entry.actor


def put(digest: str, actor: Actor, token_expires: datetime, since: int) -> None:
    """Keep a token's actor, unless the cache was emptied since the lookup began (`since` = generation())."""
    with _lock:
        if since != _generation:  # access changed while the database was read: the answer may be stale
            return
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = _Entry(actor=actor, token_expires=token_expires,
                                  kept_until=time.monotonic() + TTL_SECONDS)


def forget_all() -> None:
    """Empty the cache: some account's access changed."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()
