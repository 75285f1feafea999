"""Reading pages does not write the console session on every request: the sliding expiry moves at most once a
minute (issue 14 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.models import WebSession
from tests.auth.test_web_security import _login
from tests.factories import TOWN_A, make_areas, make_user


def _seen(db: Session) -> datetime:
    db.expire_all()
    value: datetime | None = db.scalar(select(WebSession.last_seen_at))
    assert value is not None
    return value


def test_pages_slide_the_session_at_most_once_a_minute(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "slide1", ["township_caseworker"], TOWN_A)
    db.commit()
    _login(client, "slide1")
    first = _seen(db)
    assert client.get("/").status_code == 200 and client.get("/inbox").status_code == 200
    assert _seen(db) == first  # within the minute: nothing written
    ws = db.scalars(select(WebSession)).one()
    ws.last_seen_at = datetime.now(UTC) - timedelta(minutes=2)
    ws.expires_at = datetime.now(UTC) + timedelta(minutes=5)
    db.commit()
    stale = _seen(db)
    assert client.get("/").status_code == 200
    moved = _seen(db)
    assert moved > stale + timedelta(minutes=1)  # slid to now
