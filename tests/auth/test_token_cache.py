"""A bearer token verified once is answered from memory (no database statement) until its user's access
changes in this process, the token expires, or the entry's few seconds run out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth import token_cache
from doudi.auth.permissions import system_actor
from doudi.config import Settings
from tests.factories import TOWN_A, TOWN_B, make_areas, make_user

SETTINGS = Settings(secret_key="k" * 32, token_minutes=60)


@pytest.fixture
def statements(db: Session) -> Iterator[list[str]]:
    """The SQL statements the session's connection runs."""
    seen: list[str] = []
    conn = db.connection()

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(conn, "before_cursor_execute", note)
    yield seen
    event.remove(conn, "before_cursor_execute", note)


def test_a_verified_token_is_answered_without_the_database(db: Session, statements: list[str]) -> None:
    make_areas(db)
    user = make_user(db, "cache1", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    db.flush()
    statements.clear()
    first = auth.token_actor(db, token=token, ip="10.0.0.1")
    assert first is not None and first.username == "cache1" and first.ip == "10.0.0.1"
    assert any("api_tokens" in s for s in statements)  # the first check reads the token row
    statements.clear()
    again = auth.token_actor(db, token=token, ip="10.0.0.2")
    assert statements == []
    assert again is not None and again.user_id == user.id and again.ip == "10.0.0.2"
    assert again.roles == frozenset({"township_caseworker"}) and again.area_code == TOWN_A


def test_revocation_deactivation_and_new_roles_take_effect_at_once(db: Session) -> None:
    make_areas(db)
    user = make_user(db, "cache2", ["township_caseworker"], TOWN_A)
    other = make_user(db, "cache3", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    other_token, _ = auth.issue_token(db, settings=SETTINGS, user=other)
    third, _ = auth.issue_token(db, settings=SETTINGS, user=other)
    db.flush()
    assert auth.token_actor(db, token=token) is not None
    assert auth.token_actor(db, token=other_token) is not None
    auth.update_user(db, actor=system_actor(), user_id=user.id, area_code=TOWN_B)
    db.flush()
    moved = auth.token_actor(db, token=token)
    assert moved is not None and moved.area_code == TOWN_B
    auth.revoke_token(db, actor=system_actor(), token=other_token)
    db.flush()
    assert auth.token_actor(db, token=other_token) is None
    assert auth.token_actor(db, token=third) is not None
    auth.update_user(db, actor=system_actor(), user_id=other.id, is_active=False)
    db.flush()
    assert auth.token_actor(db, token=third) is None


def test_an_entry_ends_with_its_token_and_after_its_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    actor = system_actor()
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    token_cache.put("digest-a", actor, now + timedelta(minutes=5), token_cache.generation())
    assert token_cache.get("digest-a", now) == actor
    assert token_cache.get("digest-a", now + timedelta(minutes=5)) is None  # the token itself expired
    token_cache.put("digest-b", actor, now + timedelta(minutes=5), token_cache.generation())
    later = time.monotonic() + token_cache.TTL_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert token_cache.get("digest-b", now) is None


def test_a_lookup_overtaken_by_a_change_is_not_kept() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    since = token_cache.generation()
    token_cache.forget_all()  # e.g. a revocation while the database was being read
    token_cache.put("digest-c", system_actor(), now + timedelta(minutes=5), since)
    assert token_cache.get("digest-c", now) is None


def test_a_lookup_between_a_change_and_its_commit_is_dropped_at_the_commit(db: Session) -> None:
    make_areas(db)
    user = make_user(db, "cache4", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    auth.update_user(db, actor=system_actor(), user_id=user.id, area_code=TOWN_B)
    # What a concurrent request may keep: the committed state, read after the change but before its commit.
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    stale = auth.actor_for(user)
    digest = auth.token_digest(token)
    token_cache.put(digest, stale, now + timedelta(minutes=5), token_cache.generation())
    assert token_cache.get(digest, now) is stale
    db.commit()
    assert token_cache.get(digest, now) is None
