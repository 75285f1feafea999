"""Sign-in, CSRF, lock-out, session expiry and bearer tokens, against the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.models import ApiToken, WebSession
from tests.factories import PASSWORD, TOWN_A, found, make_areas, make_user


def _login(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = found(r'name="csrf_token" value="([^"]+)"', page.text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    return found(r'data-csrf="([^"]+)"', client.get("/").text)


def test_login_sets_a_hardened_cookie(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    resp = _login(client, "town1")
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/households").status_code == 200


def test_unauthenticated_pages_redirect_and_api_401(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/households", follow_redirects=False).status_code == 303
    resp = client.get("/api/v1/households")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


def test_login_form_without_csrf_is_refused(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    client.get("/login")
    resp = client.post("/login", data={"username": "town1", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 403


def test_state_change_without_csrf_token_is_refused(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    _login(client, "town1")
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    ok = client.post("/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/households", follow_redirects=False).status_code == 303  # session is gone


def test_lockout_after_repeated_failures(client, db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    for _ in range(settings.max_failed_logins):
        assert _login(client, "town1", "wrong-password").status_code == 401
    locked = _login(client, "town1")  # the right password no longer works
    assert locked.status_code == 401
    assert "锁定" in locked.text
    outcomes = db.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "auth.login")).all()
    assert outcomes.count("failed") == settings.max_failed_logins and "denied" in outcomes


def test_idle_session_expires(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    _login(client, "town1")
    assert client.get("/households", follow_redirects=False).status_code == 200
    db.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert client.get("/households", follow_redirects=False).status_code == 303


def test_api_token_expires_and_can_be_revoked(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    bad = client.post("/api/v1/auth/token", data={"username": "town1", "password": "nope"})
    assert bad.status_code == 401
    body = client.post("/api/v1/auth/token", data={"username": "town1", "password": PASSWORD}).json()
    assert body["token_type"] == "bearer"
    h = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=h).json()["area_code"] == TOWN_A
    assert client.post("/api/v1/auth/revoke", headers=h).status_code == 204
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    body = client.post("/api/v1/auth/token", data={"username": "town1", "password": PASSWORD}).json()
    db.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    h = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
