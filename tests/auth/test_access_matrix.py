"""Access matrix: every role × targets in and out of its area × every action, through the API and the pages.

Generated from permissions.yaml. Users sit at their natural level (county roles at the county, township roles at
a township, the village assistant at a village). Targets live in the user's own village, in another township of
the same county, and in another county (台山). A request must succeed exactly when the role grants the action AND
the target lies in the user's area (AND, for county-level steps, the user is at county level); otherwise it is
refused (403/404/422) or returns none of the target's data, and a write leaves the database unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doudi.areas.codes import within
from doudi.areas.service import AreaRow, upsert_areas
from doudi.audit import service as audit
from doudi.auth.permissions import ROLES, all_actions, permission_table, system_actor
from doudi.cases import applications, steps
from doudi.cases.models import Enrollment
from doudi.cases.schemas import ApplicationCreate
from doudi.cases.service import active_step
from doudi.charity import partners
from doudi.charity.schemas import PartnerCreate
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.verification import service as verification
from tests.auth.probes import PENDING, Ctx, Target, all_probes
from tests.auth.probes_care import care_objects, care_probes
from tests.auth.probes_cases import admin_probes, case_probes, import_probes, policy_probes, verification_probes
from tests.auth.probes_charity import charity_probes, seed_charity
from tests.auth.probes_charity_fund import charity_fund_objects, charity_fund_probes
from tests.auth.probes_monitoring import monitoring_probes, seed_monitoring
from tests.auth.probes_payments import payment_objects, payment_probes
from tests.cases.world import follow_engine
from tests.factories import PASSWORD, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_B1, make_areas, make_household, make_user

TOWN_C, VILLAGE_C1 = "440781001", "440781001001"  # 台山: another county altogether
HOME = {"village_assistant": VILLAGE_A1, "township_caseworker": TOWN_A, "township_approver": TOWN_A,
        "care_provider": TOWN_A}  # everyone else sits at the county
SYSTEM = system_actor(name="matrix")
_seq = iter(range(500, 999))


def probes() -> list:  # type: ignore[type-arg]
    return (all_probes() + case_probes() + policy_probes() + verification_probes() + import_probes() + admin_probes()
            + payment_probes() + care_probes() + monitoring_probes() + charity_probes() + charity_fund_probes())


def _id(year: int, area: str) -> str:
    return build_id_number(area[:6], date(year, 2, 2), next(_seq) * 2, "M")  # distinct from the probes' IDs


def _case(db: Session, village: str, *, on: date, year: int = 1980, wage: str = "100",
          programs: list[str] | None = None, until: str | None = None, accept: bool = True) -> tuple[int, str]:
    n = _id(year, village)
    data = ApplicationCreate.model_validate({
        "area_code": village, "hukou_type": "rural", "applicant_name": "矩阵", "applicant_id_number": n,
        "programs": programs or [], "members": [{"name": "矩阵", "id_number": n, "relation": "head", "authorised": True,
                                                   "monthly_income": {"wage": wage}, "labour_capacity": "none"
                                                   if year < 1960 else "full",
                                                   # an elderly applicant with no legal supporter elsewhere (recorded)
                                                   **({"supporters_elsewhere_able": 0} if year < 1960 else {})}]})
    case = applications.submit(db, actor=SYSTEM, data=data)
    if accept:
        applications.accept(db, actor=SYSTEM, case_id=case.id, on=on)
    while until and (active := active_step(case)) is not None and active.key != until:
        steps_data: dict[str, dict[str, Any]] = {
            "home_visit": {"investigators": ["甲", "乙"], "findings": "x"},
            "verification": {"conclusion": "consistent"},
            "first_review": follow_engine(case), "confirmation": follow_engine(case)}
        data_for = steps_data.get(active.key, {})
        when = max(on, active.due_on) if active.key == "publicity" and active.due_on else on  # 公示 runs 7 days
        steps.act(db, actor=SYSTEM, case_id=case.id, step_key=active.key, action="close" if active.key == "publicity"
                  else "complete", data=data_for, version=case.version, today=when)
    return case.id, case.case_no


def _sampled(db: Session, case_id: int) -> int:
    """Arrange a case to be waiting at its county spot check (the live draw may have passed it by)."""
    from doudi.cases.models import Case

    case = db.get(Case, case_id)
    assert case is not None
    spot = next(s for s in case.steps if s.key == "spot_check")
    if spot.status == "skipped":
        spot.status, spot.outcome, spot.completed_at = "active", "", None
        for later in (s for s in case.steps if s.seq > spot.seq):
            later.status = "waiting"
        case.status, case.closed_at = "open", None
        db.flush()
    return case_id


def _target(db: Session, scope: str, village: str, peer_area: str) -> Target:
    today = clock.today()
    hh = make_household(db, village, head_name="甲" if scope == "in" else "乙")
    head = hh.members[0]
    tag = f"tag{scope}{hh.id}"
    audit.record(db, actor=SYSTEM, action="probe.seed", object_type="probe", object_id=tag, area_code=village)
    peer = make_user(db, f"peer_{scope}_{hh.id}", ["auditor"], peer_area)
    verification.record_authorisation(db, actor=SYSTEM, household_id=hh.id, person_id=head.person_id,
                                      signed_by_name="甲", signed_on=today, document_ref="矩阵授权")
    vreq = verification.create_request(db, actor=SYSTEM, household_id=hh.id)
    e = Enrollment(household_id=hh.id, area_code=village, program="dibao", status="active",
                   monthly_amount=Decimal("300"), start_month=today.replace(day=1), version=1)
    db.add(e)
    db.flush()
    case_inv, case_no = _case(db, village, on=today - timedelta(days=30))  # its first step is overdue
    extra = {
        "case_inv": case_inv, "case_no": case_no, "vreq": vreq.id, "enrollment": e.id,
        "case_new": _case(db, village, on=today, accept=False)[0],
        "case_review": _case(db, village, on=today, until="first_review")[0],
        "case_pub": _case(db, village, on=today, programs=["dibao_marginal"], until="publicity")[0],
        "case_confirm": _case(db, village, on=today, until="confirmation")[0],
        "case_decide": _case(db, village, on=today, until="decision")[0],
        "case_spot": _sampled(db, _case(db, village, on=today, year=1940, wage="0", until="spot_check")[0]),
        **seed_monitoring(db, household_id=hh.id, person_id=head.person_id, id_number=head.person.id_number,
                          village=village, tag=tag),
    }
    extra.update(seed_charity(db, household_id=hh.id, village=village, tag=tag))
    extra.update(payment_objects(db, scope=scope, village=village, household_id=hh.id, today=today))
    extra.update(care_objects(db, village=village, person_id=head.person_id, household_id=hh.id, today=today,
                              towns=[TOWN_C] if village.startswith("4407") else [TOWN_A, TOWN_B]))
    extra.update(charity_fund_objects(db, scope=scope, village=village, household_id=hh.id,
                                      person_id=head.person_id, today=today))
    return Target(scope, village, hh.id, hh.household_no, head.person_id, head.person.id_number, tag, peer.username,
                  extra)


@pytest.fixture
def world(db: Session, app) -> Iterator[tuple[list[Target], object]]:  # type: ignore[no-untyped-def]
    make_areas(db)
    upsert_areas(db, rows=[AreaRow(TOWN_C, "台城街道", True, "synthetic"),
                           AreaRow(VILLAGE_C1, "城东", True, "synthetic")])
    partners.create(db, actor=SYSTEM, data=PartnerCreate(  # the partner role's organisation must be registered
        key="probe_partner", name="探针机构", kind="charity", area_code="370784", offers=["cash"],
        capacity={"cash": 1}))
    targets = [_target(db, "own", VILLAGE_A1, TOWN_A), _target(db, "other_town", VILLAGE_B1, TOWN_B),
               _target(db, "other_county", VILLAGE_C1, TOWN_C)]
    db.commit()
    yield targets, app


def _clients(app: object, username: str) -> tuple[TestClient, TestClient, str]:
    api = TestClient(app)  # type: ignore[arg-type]
    token = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    page = TestClient(app)  # type: ignore[arg-type]
    login = page.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    page.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    session_csrf = re.search(r'data-csrf="([^"]+)"', page.get("/").text).group(1)  # type: ignore[union-attr]
    return api, page, session_csrf


def test_every_action_has_a_probe_or_is_pending() -> None:
    probed = {p.action for p in probes()}
    missing = all_actions() - probed - set(PENDING)
    assert not missing, f"actions without a probe: {sorted(missing)}"
    stale = probed & set(PENDING)
    assert not stale, f"remove from PENDING, probes exist now: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role: str, world, db: Session) -> None:  # type: ignore[no-untyped-def]
    targets, app = world
    home = HOME.get(role, "370784")
    make_user(db, f"u_{role}", [role], home)
    db.commit()
    api, page, csrf = _clients(app, f"u_{role}")
    granted = permission_table()[role]
    failures = []
    for probe in probes():
        for t in targets:
            ctx = Ctx(api=api, page=page, csrf=csrf, session=db, role=role)
            resp = probe.call(ctx, t)
            in_scope = within(t.area_code, home) or not probe.scoped
            level_ok = not probe.county_only or len(home) <= 6
            whole_ok = not probe.whole_installation or all(within(x.area_code, home) for x in targets)
            allowed = probe.action in granted and in_scope and level_ok and whole_ok
            leaked = probe.leaked(resp, t) if probe.leaked else False
            wrote = probe.took_effect(ctx, t) if probe.took_effect else False
            where = f"{probe.action} via {probe.channel} on {t.scope} → {resp.status_code}"
            if allowed:
                if resp.status_code >= 400 or (probe.leaked and not leaked) or (probe.took_effect and not wrote):
                    failures.append(f"should be allowed: {where} {resp.text[:200]}")
            else:
                # 422 is how a form refuses an area outside the user's scope ("不存在或不在辖区内").
                refused = resp.status_code in (403, 404, 422) or (resp.status_code < 400 and not leaked and not wrote)
                if not refused or leaked or wrote:
                    failures.append(f"should be refused: {where} (leaked={leaked}, wrote={wrote})")
    assert not failures, "\n".join(failures)
