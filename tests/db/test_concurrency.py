"""Optimistic locking under real concurrency, on SQLite and PostgreSQL (issue 14 item 3): against a live server,
20 identical state changes sent at once to each kind of object give exactly one change, the others a 409
(or, on SQLite, at worst a 503 "busy"), and never a 500; a repeat with the same stale version is refused too.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.models import User
from doudi.cases.models import Case, Enrollment, EnrollmentChange, Notice, Task, TemporaryGrant
from doudi.core import clock
from doudi.db.engine import sessionmaker_for
from doudi.ingest.models import IngestBatch
from doudi.registry.models import Household
from doudi.verification.models import LinkReview
from tests.cases.world import apply, make_world, member
from tests.conftest import Database
from tests.factories import PASSWORD, VILLAGE_A1, make_areas, make_household, make_user
from tests.live import serve

N = 20
OK = {200, 201, 204, 303}
REFUSED = {409, 503}  # a conflict; on SQLite a writer may also wait out the busy timeout


def _burst(send: Callable[[httpx.Client], httpx.Response], cookies: httpx.Cookies | None = None) -> Counter[int]:
    """Send N requests at the same instant (a barrier releases them together); their status codes."""
    gate = threading.Barrier(N)
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=N), cookies=cookies) as client:
        def one(_: int) -> int:
            gate.wait()
            return send(client).status_code

        with ThreadPoolExecutor(N) as pool:
            return Counter(pool.map(one, range(N)))


def _exactly_one(codes: Counter[int]) -> None:
    assert sum(n for c, n in codes.items() if c in OK) == 1, codes
    assert set(codes) <= OK | REFUSED, codes  # no 500, nor anything else


def _count(s: Session, model: Any, *where: Any) -> int:
    s.rollback()  # a fresh read: SQLite keeps a transaction's first snapshot
    return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _audits(s: Session, action: str, object_id: object) -> int:
    return _count(s, AuditEntry, AuditEntry.action == action, AuditEntry.object_id == str(object_id))


def _id(seq: int) -> str:
    from doudi.core.ids import build_id_number

    return build_id_number("370784", date(1960, 3, 1), seq, "M")


@pytest.fixture
def world(fresh_database: Database) -> dict[str, Any]:
    """Objects of every kind, each in a state one action can change."""
    factory = sessionmaker_for(fresh_database.engine)
    today = clock.today()
    with factory() as s:
        staff = make_world(s)
        make_user(s, "admin1", ["admin"], "370784")
        target_user = make_user(s, "leaver", ["village_assistant"], VILLAGE_A1)
        ids: dict[str, Any] = {"user": target_user.id}

        def fresh(seq: int, **kw: Any) -> Case:
            made: Case = apply(s, staff.worker, on=today, members=[member(f"并发{seq}", _id(seq), "head", "100")], **kw)
            return made

        ids["step"] = fresh(11).id
        ids["extend"] = fresh(13).id
        ids["withdraw"] = fresh(15).id
        from doudi.cases import applications
        from doudi.cases.schemas import ApplicationCreate

        submitted = applications.submit(s, actor=staff.worker, data=ApplicationCreate.model_validate({
            "area_code": VILLAGE_A1, "hukou_type": "rural", "applicant_name": "待受理", "applicant_id_number": _id(17),
            "members": [{"name": "待受理", "id_number": _id(17), "relation": "head", "authorised": True}]}))
        ids["accept"] = submitted.id
        emergency = fresh(19, need={"kind": "emergency", "amount": "800", "reason": "房屋失火"})
        ids["grant"] = emergency.id

        hh = make_household(s, VILLAGE_A1)
        ids["household"] = hh.id
        e1 = Enrollment(household_id=hh.id, area_code=hh.area_code, program="dibao", status="active",
                        monthly_amount=Decimal("300"), start_month=today.replace(day=1))
        e2 = Enrollment(household_id=hh.id, area_code=hh.area_code, program="extreme_poverty", status="active",
                        monthly_amount=Decimal("960"), start_month=today.replace(day=1))
        s.add_all([e1, e2])
        s.flush()
        change = EnrollmentChange(enrollment_id=e2.id, kind="terminate", status="publicizing",
                                  effective_month=today.replace(day=1), old_amount=Decimal("960"),
                                  new_amount=Decimal("960"), reason="拟停发", publicity_until=today + timedelta(days=7))
        task = Task(case_id=ids["step"], kind="paperwork", title="补齐手续", due_on=today)
        notice = Notice(case_id=ids["step"], area_code=VILLAGE_A1, kind="rejection", number="N-CONC-1",
                        issued_on=today, content={})
        batch = IngestBatch(kind="feed", source_key="tax", file_name="t.csv", file_sha256="c" * 64, status="done",
                            area_code="370784", details={})
        s.add_all([change, task, notice, batch])
        s.flush()
        review = LinkReview(batch_id=batch.id, source_key="tax", row_numbers=[1], record={"name": "x"},
                            candidate_person_id=hh.members[0].person_id, area_code=hh.area_code, probability=0.9)
        s.add(review)
        s.flush()
        ids |= {"enrollment": e1.id, "change": change.id, "task": task.id, "notice": notice.id, "review": review.id}
        s.commit()
    return {"ids": ids, "factory": factory, "db": fresh_database}


def _token(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _console(base: str, username: str) -> tuple[httpx.Cookies, str]:
    with httpx.Client(base_url=base) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        csrf = re.search(r'data-csrf="([^"]+)"', c.get("/").text).group(1)  # type: ignore[union-attr]
        return c.cookies, csrf


def test_twenty_identical_changes_make_exactly_one(world: dict[str, Any], tmp_path: Path) -> None:
    ids, factory = world["ids"], world["factory"]
    with serve(world["db"].url, tmp_path / "var") as base, factory() as s:
        worker, approver = _token(base, "worker1"), _token(base, "approver1")
        verifier = _token(base, "verifier1")

        def version(model: Any, key: str) -> int:
            s.rollback()  # a fresh read: SQLite keeps a transaction's first snapshot
            return int(s.get(model, ids[key]).version)

        # Cases: a step, 受理, an extension, a withdrawal, and the 24-hour grant (a temporary grant).
        v = version(Case, "step")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/cases/{ids['step']}/steps/investigation_start",
                                             headers=worker, json={"version": v, "action": "complete"})))
        assert _audits(s, "case.step.investigation_start", ids["step"]) == 1 and version(Case, "step") == v + 1
        stale = httpx.post(f"{base}/api/v1/cases/{ids['step']}/steps/home_visit", headers=worker,
                           json={"version": v, "action": "complete", "data": {}})
        assert stale.status_code == 409  # the same stale version, sent later, is refused as well

        v = version(Case, "accept")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/cases/{ids['accept']}/accept", headers=worker,
                                             json={"version": v})))
        assert _audits(s, "case.accept", ids["accept"]) == 1

        v = version(Case, "extend")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/cases/{ids['extend']}/extend", headers=worker,
                                             json={"version": v, "reason": "人户分离，调查难度大"})))
        assert _audits(s, "case.extend", ids["extend"]) == 1

        v = version(Case, "withdraw")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/cases/{ids['withdraw']}/withdraw", headers=worker,
                                             json={"version": v, "reason": "申请人撤回"})))
        assert _audits(s, "case.withdraw", ids["withdraw"]) == 1

        v = version(Case, "grant")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/cases/{ids['grant']}/steps/emergency_grant",
                                             headers=approver, json={"version": v, "action": "complete",
                                                                     "data": {"amount": "800"}})))
        s.rollback()  # a fresh read: SQLite keeps a transaction's first snapshot
        grant = s.scalars(select(TemporaryGrant).where(TemporaryGrant.case_id == ids["grant"])).one()
        assert grant.approved_at is not None and grant.version == 2
        assert _audits(s, "case.step.emergency_grant", ids["grant"]) == 1

        # Enrollments: 20 terminations leave one under 公示, and its version moves on.
        v = version(Enrollment, "enrollment")
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/enrollments/{ids['enrollment']}/review",
                                             headers=approver, json={"version": v, "outcome": "terminate",
                                                                     "reason": "家庭收入已超过标准"})))
        assert _count(s, EnrollmentChange, EnrollmentChange.enrollment_id == ids["enrollment"]) == 1
        assert version(Enrollment, "enrollment") == v + 1
        again = httpx.post(f"{base}/api/v1/enrollments/{ids['enrollment']}/review", headers=approver,
                           json={"version": v, "outcome": "terminate", "reason": "家庭收入已超过标准"})
        assert again.status_code == 409

        # An enrollment change: one objection cancels the termination once.
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/enrollment-changes/{ids['change']}/objection",
                                             headers=approver, json={"content": "家中有重病人"})))
        assert _count(s, AuditEntry, AuditEntry.action == "enrollment.termination_objection") == 1
        assert version(EnrollmentChange, "change") == 2

        # A follow-up task, a clerical review, a household correction.
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/tasks/{ids['task']}/done", headers=worker)))
        assert version(Task, "task") == 2
        _exactly_one(_burst(lambda c: c.post(f"{base}/api/v1/verification/reviews/{ids['review']}",
                                             headers=verifier, json={"accept": False})))
        assert _audits(s, "linkage.review", ids["review"]) == 1 and version(LinkReview, "review") == 2
        v = version(Household, "household")
        _exactly_one(_burst(lambda c: c.patch(f"{base}/api/v1/households/{ids['household']}", headers=worker,
                                              json={"version": v, "address": "新安街道 8 号"})))
        assert _audits(s, "household.update", ids["household"]) == 1 and version(Household, "household") == v + 1

        # Console forms: serving a notice, and an administrator deactivating a user.
        cookies, csrf = _console(base, "approver1")
        _exactly_one(_burst(lambda c: c.post(f"{base}/notices/{ids['notice']}/served",
                                             data={"csrf_token": csrf, "version": "1"}), cookies))
        assert _audits(s, "case.notice_served", ids["notice"]) == 1 and version(Notice, "notice") == 2
        cookies, csrf = _console(base, "admin1")
        v = version(User, "user")
        _exactly_one(_burst(lambda c: c.post(f"{base}/admin/users/{ids['user']}", data={
            "csrf_token": csrf, "op": "update", "version": str(v), "role": "village_assistant",
            "area_code": VILLAGE_A1, "full_name": "离职人员"}), cookies))
        assert _audits(s, "user.update", ids["user"]) == 1 and version(User, "user") == v + 1
        s.rollback()  # a fresh read: SQLite keeps a transaction's first snapshot
        assert s.get(User, ids["user"]).is_active is False  # type: ignore[union-attr,unused-ignore]


def test_twenty_writers_to_one_household_all_succeed(world: dict[str, Any], tmp_path: Path) -> None:
    """Twenty declared facts sent at once to one household, with no version to be stale: all twenty are written,
    each audited, none refused. On SQLite a write request's transaction takes the lock at BEGIN, so a writer
    waits its turn; one that read first and then asked for the lock was refused (busy or a stale snapshot)."""
    from doudi.registry.models import IncomeFact

    hh = world["ids"]["household"]
    with serve(world["db"].url, tmp_path / "var") as base, world["factory"]() as s:
        worker = _token(base, "worker1")
        codes = _burst(lambda c: c.post(f"{base}/api/v1/households/{hh}/facts", headers=worker, json={
            "kind": "income", "item": "wage", "amount": "500", "period_start": "2026-01-01",
            "period_end": "2026-01-31", "note": "并发申报"}))
        assert codes == Counter({201: N}), codes
        assert _count(s, IncomeFact, IncomeFact.household_id == hh, IncomeFact.note == "并发申报") == N
        assert _audits(s, "fact.income.add", hh) == N


def test_the_database_allows_one_open_termination_per_enrollment(db: Session) -> None:
    """The unique partial index holds even for writes that bypass the services."""
    from sqlalchemy.exc import IntegrityError

    make_areas(db)
    hh = make_household(db, VILLAGE_A1)
    e = Enrollment(household_id=hh.id, area_code=hh.area_code, program="dibao", status="active",
                   monthly_amount=Decimal("300"), start_month=date(2026, 11, 1))
    db.add(e)
    db.flush()

    def termination(status: str = "publicizing") -> EnrollmentChange:
        return EnrollmentChange(enrollment_id=e.id, kind="terminate", status=status, effective_month=date(2026, 12, 1),
                                old_amount=Decimal("300"), new_amount=Decimal("300"), reason="拟停发")

    db.add_all([termination("cancelled"), termination("effective"), termination()])  # closed ones do not count
    db.flush()
    nested = db.begin_nested()
    db.add(termination())
    with pytest.raises(IntegrityError):
        db.flush()
    nested.rollback()
