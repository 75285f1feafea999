"""Administrators manage accounts within their own area only; deactivation ends access at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth import service as auth
from doudi.auth.permissions import Actor
from doudi.core.errors import NotFound, ValidationFailed
from tests.factories import PASSWORD, TOWN_A, TOWN_B, found, make_areas, make_user


def _actor(user) -> Actor:  # type: ignore[no-untyped-def]
    return auth.actor_for(user)


def test_admin_cannot_touch_accounts_outside_their_area(db: Session) -> None:
    make_areas(db)
    admin = make_user(db, "town_admin", ["admin"], TOWN_A)
    outsider = make_user(db, "b_worker", ["township_caseworker"], TOWN_B)
    with pytest.raises(NotFound):
        auth.update_user(db, actor=_actor(admin), user_id=outsider.id, is_active=False)
    inside = make_user(db, "a_worker", ["township_caseworker"], TOWN_A)
    with pytest.raises(ValidationFailed):
        auth.update_user(db, actor=_actor(admin), user_id=inside.id, area_code=TOWN_B)  # moving out of scope
    with pytest.raises(ValidationFailed):
        auth.update_user(db, actor=_actor(admin), user_id=admin.id, is_active=False)  # no self-lockout


def test_deactivation_ends_sessions_and_tokens(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    admin = make_user(db, "county_admin", ["admin"], "370784")
    worker = make_user(db, "worker", ["township_caseworker"], TOWN_A)
    db.commit()
    tok = client.post("/api/v1/auth/token", data={"username": "worker", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    auth.update_user(db, actor=_actor(admin), user_id=worker.id, is_active=False)
    db.commit()
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "worker", "password": PASSWORD}).status_code == 401
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert entry.changes["is_active"] == [True, False]


def test_admin_page_changes_roles_and_unlocks(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "county_admin", ["admin"], "370784")
    worker = make_user(db, "worker", ["village_assistant"], TOWN_A)
    db.commit()
    login = client.get("/login")
    csrf = found(r'name="csrf_token" value="([^"]+)"', login.text)
    client.post("/login", data={"username": "county_admin", "password": PASSWORD, "csrf_token": csrf})
    page = client.get(f"/admin/users/{worker.id}")
    assert page.status_code == 200
    token = found(r'data-csrf="([^"]+)"', page.text)
    r = client.post(f"/admin/users/{worker.id}", data={
        "csrf_token": token, "op": "update", "role": ["township_caseworker", "township_approver"],
        "area_code": TOWN_A, "is_active": "on", "full_name": "新安工作人员"})
    assert r.status_code == 200 and "已保存" in r.text
    db.expire_all()
    from doudi.auth.models import User

    changed = db.get(User, worker.id)
    assert changed is not None and changed.roles == {"township_caseworker", "township_approver"}
    weak = client.post(f"/admin/users/{worker.id}", data={"csrf_token": token, "op": "password", "password": "short"})
    assert weak.status_code == 422 and "至少" in weak.text
