"""An API token stops working when its user is deactivated, locked out or gets a new password, and the token
check reads the user's state (issue 14 item 8)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.permissions import system_actor
from doudi.config import Settings
from tests.factories import TOWN_A, make_areas, make_user

SETTINGS = Settings(max_failed_logins=3, lockout_minutes=15, secret_key="k" * 32)


def test_password_reset_ends_tokens(db: Session) -> None:
    make_areas(db)
    user = make_user(db, "tok1", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    assert auth.resolve_token(db, token=token) is not None
    actor = auth.token_actor(db, token=token, ip="127.0.0.1")  # what the API's dependency reads, in one query
    assert actor is not None and (actor.username, actor.roles, actor.area_code, actor.ip) == (
        "tok1", frozenset({"township_caseworker"}), TOWN_A, "127.0.0.1")
    auth.reset_password(db, actor=system_actor(), user_id=user.id, password="N3w-Passw0rd!x")
    db.flush()
    assert auth.resolve_token(db, token=token) is None
    assert auth.token_actor(db, token=token) is None


def test_lock_out_ends_tokens(db: Session) -> None:
    make_areas(db)
    user = make_user(db, "tok2", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    for _ in range(SETTINGS.max_failed_logins):
        assert auth.authenticate(db, settings=SETTINGS, username="tok2", password="wrong-Passw0rd").user is None
    db.flush()
    assert auth.resolve_token(db, token=token) is None
    assert auth.token_actor(db, token=token) is None


def test_deactivation_ends_tokens(db: Session) -> None:
    make_areas(db)
    user = make_user(db, "tok3", ["township_caseworker"], TOWN_A)
    token, _ = auth.issue_token(db, settings=SETTINGS, user=user)
    auth.update_user(db, actor=system_actor(), user_id=user.id, is_active=False)
    db.flush()
    assert auth.resolve_token(db, token=token) is None
    assert auth.token_actor(db, token=token) is None
