"""One commit per request: a page that changes nothing still keeps the console session alive, in one commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from doudi.auth.models import WebSession
from tests.factories import PASSWORD, TOWN_A, found, make_areas, make_user


def test_read_only_page_slides_the_session_in_one_commit(client: TestClient, db: Session,
                                                         session_factory: sessionmaker[Session]) -> None:
    """GET pages commit once (the sliding expiry); a form post commits once (its work, expiry included)."""
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    token = found(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    client.post("/login", data={"username": "town1", "password": PASSWORD, "csrf_token": token})
    soon = datetime.now(UTC) + timedelta(minutes=1)
    # As if the last request was 29 minutes ago (the expiry slides at most once a minute).
    db.execute(update(WebSession).values(expires_at=soon, last_seen_at=datetime.now(UTC) - timedelta(minutes=29)))
    db.commit()
    commits: list[int] = []
    event.listen(session_factory, "after_commit", lambda _s: commits.append(1))
    assert client.get("/households", follow_redirects=False).status_code == 200
    assert len(commits) == 1
    db.expire_all()
    expires = db.scalars(select(WebSession.expires_at)).one()
    assert (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) > soon + timedelta(minutes=20)
    commits.clear()
    csrf = found(r'data-csrf="([^"]+)"', client.get("/").text)
    commits.clear()
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and len(commits) == 1
