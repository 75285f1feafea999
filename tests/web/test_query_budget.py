"""Statements per request on the busiest routes stay within a fixed budget, whatever the size of the data: the
inbox and the case, through the API and the console. A lookup per row (an N+1) would break the budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from doudi.auth import token_cache
from doudi.core import clock
from doudi.core.ids import build_id_number
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD, found

# Counted by hand from the routes (see each test), with no slack: a new query on these paths is a decision.
API_INBOX = 3  # token with user and roles; the counts; the page of rows
API_CASE = 4  # token with user and roles; the case; its steps; its decisions
# The console pages as they stand (session with user and roles, the page's own queries, the layout's menu and
# counts): ceilings against regressions; the test below checks that they do not grow with the rows.
CONSOLE_INBOX = 22  # with the cross-county warning sides a county verifies
CONSOLE_CASE = 16


@contextmanager
def counting(db: Session) -> Iterator[Callable[[], int]]:
    """Count the SQL statements sent on the test's connection (every request of the app shares it)."""
    seen: list[str] = []
    conn = db.connection()

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield lambda: len([s for s in seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])
    finally:
        event.remove(conn, "before_cursor_execute", note)


def _apply(db: Session, staff: Any, first: int, n: int) -> list[int]:
    ids = [apply(db, staff.worker, on=clock.today(), members=[member(f"申请{i}", build_id_number(
        "370784", date(1960, 1, 1), 300 + i, "M"), "head", "100")]).id for i in range(first, first + n)]
    db.commit()
    return ids


def _cases(db: Session, n: int) -> list[int]:
    staff = make_world(db)
    return _apply(db, staff, 0, n)


def _token(client: Any) -> dict[str, str]:
    t = client.post("/api/v1/auth/token", data={"username": "worker1", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def test_api_inbox_and_case_stay_in_budget(client: Any, db: Session) -> None:
    ids = _cases(db, 6)
    h = _token(client)
    token_cache.forget_all()
    with counting(db) as n:
        r = client.get("/api/v1/inbox", headers=h)
        assert r.status_code == 200 and r.json()["total"] == 6
        assert n() == API_INBOX
    # The token was just verified: this process answers it from memory (auth.token_cache) for a few seconds.
    for case_id, fresh in ((ids[0], True), (ids[-1], False)):
        if fresh:
            token_cache.forget_all()
        with counting(db) as n:
            r = client.get(f"/api/v1/cases/{case_id}", headers=h)
            assert r.status_code == 200 and r.json()["id"] == case_id
            assert n() == (API_CASE if fresh else API_CASE - 1)


def test_console_inbox_and_case_do_not_grow_with_rows(client: Any, db: Session) -> None:
    staff = make_world(db)
    ids = _apply(db, staff, 0, 2)
    page = client.get("/login")
    token = found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": "worker1", "password": PASSWORD, "csrf_token": token})
    with counting(db) as n:
        assert client.get("/inbox").status_code == 200
        inbox_two = n()
    with counting(db) as n:
        assert client.get(f"/cases/{ids[0]}").status_code == 200
        case_page = n()
    assert inbox_two <= CONSOLE_INBOX and case_page <= CONSOLE_CASE
    more = _apply(db, staff, 2, 8)  # five times the rows
    with counting(db) as n:
        body = client.get("/inbox").text
        assert n() == inbox_two, "the inbox page queries once per row"
    assert all(f"申请{i}" in body for i in range(10))
    with counting(db) as n:
        assert client.get(f"/cases/{more[-1]}").status_code == 200
        assert n() == case_page
