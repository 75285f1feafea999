"""Concurrency against a live server on both backends: 20 bookings of one caregiver's slot sent at once give one
visit; 20 repeats of one check-in (a flaky phone) give one check-in; never a 500."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from doudi.audit.models import AuditEntry
from doudi.care.models import CareVisit
from doudi.care.rules import LOCAL, local_time
from doudi.db.engine import session_scope
from tests.care.world import HOME_A, build
from tests.factories import PASSWORD, TOWN_A, make_user
from tests.live import serve

N = 20


def _burst(send, headers: dict[str, str]) -> Counter[int]:  # type: ignore[no-untyped-def]
    gate = threading.Barrier(N)
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=N), headers=headers) as client:
        def one(i: int) -> int:
            gate.wait()
            return int(send(client, i).status_code)

        with ThreadPoolExecutor(N) as pool:
            return Counter(pool.map(one, range(N)))


@pytest.mark.browser  # a live server, like the browser tests
def test_concurrent_bookings_and_repeated_check_ins(fresh_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC).astimezone(LOCAL).date()
    with session_scope(fresh_database.engine) as s:
        w = build(s)
        make_user(s, "sched1", ["township_caseworker"], TOWN_A)
        carer = make_user(s, "carer1", ["care_provider"], TOWN_A, org="ankang_care")
        w.giver.user_id = carer.id
        person, giver = w.person.id, w.giver.id
    with serve(fresh_database.url, tmp_path / "var") as base:
        def token(user: str) -> dict[str, str]:
            t = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()
            return {"Authorization": f"Bearer {t['access_token']}"}

        body = {"person_id": person, "caregiver_id": giver, "service": "meal",
                "start": local_time(today, 0, 10).isoformat(), "end": local_time(today, 1, 10).isoformat()}
        codes = _burst(lambda c, i: c.post(f"{base}/api/v1/care/visits", json=body), token("sched1"))
        assert codes[201] == 1 and set(codes) <= {201, 409, 503}, codes
        with session_scope(fresh_database.engine) as s:
            (visit_id,) = s.scalars(select(CareVisit.id).where(CareVisit.caregiver_id == giver)).all()
        check = {"key": "same-phone-submission-1", "latitude": HOME_A[0], "longitude": HOME_A[1]}
        codes = _burst(lambda c, i: c.post(f"{base}/api/v1/care/visits/{visit_id}/check-in", json=check),
                       token("carer1"))
        assert codes[200] >= 1 and set(codes) <= {200, 409, 503}, codes
        with session_scope(fresh_database.engine) as s:
            v = s.get(CareVisit, visit_id)
            assert v is not None and v.status == "in_progress" and v.check_in_key == check["key"]
            n = s.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "care.visit_check_in", AuditEntry.object_id == str(visit_id)))
            assert n == 1
