"""Access matrix: every role × an in-scope and an out-of-scope area × every action, through API and pages.

Generated from permissions.yaml: a request must succeed exactly when the role grants the action AND the
object lies in the user's area; otherwise it is refused (403/404) or returns none of the object's data,
and a write leaves the database unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import ROLES, all_actions, permission_table, system_actor
from tests.auth.probes import PENDING, Ctx, Target, all_probes
from tests.factories import (
    PASSWORD,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    make_areas,
    make_household,
    make_user,
)


def _target(db: Session, scope: str, village: str, peer_area: str) -> Target:
    hh = make_household(db, village, head_name="甲" if scope == "in" else "乙")
    head = hh.members[0]
    tag = f"tag{scope}{hh.id}"
    audit.record(db, actor=system_actor(), action="probe.seed", object_type="probe", object_id=tag,
                 area_code=village)
    peer = make_user(db, f"peer_{scope}_{hh.id}", ["auditor"], peer_area)
    return Target(scope, village, hh.id, hh.household_no, head.person_id, head.person.id_number, tag, peer.username)


@pytest.fixture
def world(db: Session, app) -> Iterator[tuple[list[Target], object]]:  # type: ignore[no-untyped-def]
    make_areas(db)
    targets = [_target(db, "in", VILLAGE_A1, TOWN_A), _target(db, "out", VILLAGE_B1, TOWN_B)]
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
    home = page.get("/").text
    session_csrf = re.search(r'data-csrf="([^"]+)"', home).group(1)  # type: ignore[union-attr]
    return api, page, session_csrf


def test_every_action_has_a_probe_or_is_pending() -> None:
    probed = {p.action for p in all_probes()}
    missing = all_actions() - probed - set(PENDING)
    assert not missing, f"actions without a probe: {sorted(missing)}"
    stale = probed & set(PENDING)
    assert not stale, f"remove from PENDING, probes exist now: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role: str, world, db: Session) -> None:  # type: ignore[no-untyped-def]
    targets, app = world
    make_user(db, f"u_{role}", [role], TOWN_A)
    db.commit()
    api, page, csrf = _clients(app, f"u_{role}")
    granted = permission_table()[role]
    failures = []
    for probe in all_probes():
        for t in targets:
            ctx = Ctx(api=api, page=page, csrf=csrf, session=db, role=role)
            resp = probe.call(ctx, t)
            allowed = probe.action in granted and (t.scope == "in" or not probe.scoped)
            leaked = probe.leaked(resp, t) if probe.leaked else False
            wrote = probe.took_effect(ctx, t) if probe.took_effect else False
            where = f"{probe.action} via {probe.channel} on {t.scope}-scope → {resp.status_code}"
            if allowed:
                if resp.status_code >= 400 or (probe.leaked and not leaked) or (probe.took_effect and not wrote):
                    failures.append(f"should be allowed: {where}")
            else:
                # 422 is how a form refuses an area outside the user's scope ("不存在或不在辖区内").
                refused = resp.status_code in (403, 404, 422) or (resp.status_code < 400 and not leaked and not wrote)
                if not refused or leaked or wrote:
                    failures.append(f"should be refused: {where} (leaked={leaked}, wrote={wrote})")
    assert not failures, "\n".join(failures)
