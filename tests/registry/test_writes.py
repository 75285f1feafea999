"""Registry changes through the real API: create, optimistic locking, facts with supersession, undo, audit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.registry.models import IncomeFact
from tests.factories import PASSWORD, TOWN_A, VILLAGE_A1, VILLAGE_B1, found, make_areas, make_household, make_user

HEAD = {"name": "孙立平", "id_number": "11010519491231002X", "relation": "head"}


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {t}"}


def _setup(db: Session) -> None:
    make_areas(db)
    make_user(db, "jb", ["township_caseworker"], TOWN_A)
    db.commit()


def test_create_household_validates_every_field(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _setup(db)
    h = _token(client, "jb")
    bad = client.post("/api/v1/households", headers=h, json={
        "area_code": VILLAGE_A1, "hukou_type": "suburban",
        "members": [{"name": "甲", "id_number": "110105194912310021", "relation": "head"}],
    })
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "hukou_type" in fields and "members.0.id_number" in fields
    assert any("校验码" in e["message"] for e in bad.json()["errors"])
    ok = client.post("/api/v1/households", headers=h, json={
        "area_code": VILLAGE_A1, "hukou_type": "rural", "address": "东村 1 号", "members": [HEAD]})
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["members"][0]["id_number_masked"] == "110105********002X"
    assert body["members"][0]["birth_date"] == "1949-12-31"  # taken from the ID number
    again = client.post("/api/v1/households", headers=h, json={
        "area_code": VILLAGE_A1, "hukou_type": "rural", "members": [HEAD]})
    assert again.status_code == 422  # the same person cannot be in two households


def test_cannot_register_outside_own_area(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _setup(db)
    r = client.post("/api/v1/households", headers=_token(client, "jb"),
                    json={"area_code": VILLAGE_B1, "hukou_type": "rural", "members": [HEAD]})
    assert r.status_code == 422
    assert "辖区" in r.json()["errors"][0]["message"]


def test_stale_version_is_refused_with_a_clear_message(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _setup(db)
    hh = make_household(db, VILLAGE_A1)
    db.commit()
    h = _token(client, "jb")
    first = client.patch(f"/api/v1/households/{hh.id}", headers=h, json={"version": 1, "address": "新地址 8 号"})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.patch(f"/api/v1/households/{hh.id}", headers=h, json={"version": 1, "address": "旧地址"})
    assert stale.status_code == 409
    assert "已被他人修改" in stale.json()["detail"]
    assert client.get(f"/api/v1/households/{hh.id}", headers=h).json()["address"] == "新地址 8 号"


def test_undo_restores_and_is_audited(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _setup(db)
    hh = make_household(db, VILLAGE_A1)
    db.commit()
    h = _token(client, "jb")
    pid = client.get(f"/api/v1/households/{hh.id}", headers=h).json()["members"][0]["person_id"]
    r = client.patch(f"/api/v1/households/{hh.id}/members/{pid}", headers=h,
                     json={"version": 1, "disability_category": "physical", "disability_grade": 2})
    assert r.status_code == 200, r.text
    revs = client.get(f"/api/v1/households/{hh.id}/revisions", headers=h).json()
    rev = next(x for x in revs if x["object_type"] == "person")
    assert rev["after"]["disability_grade"] == "（已隐藏）"  # health data masked in the history API
    undo = client.post(f"/api/v1/revisions/{rev['id']}/revert", headers=h)
    assert undo.status_code == 200
    assert client.post(f"/api/v1/revisions/{rev['id']}/revert", headers=h).status_code == 409
    db.expire_all()
    from doudi.registry.models import Person

    person = db.get(Person, pid)
    assert person is not None and person.disability_grade is None
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "person",
                                                         AuditEntry.object_id == str(pid))).all()
    assert actions == ["person.update", "person.revert"]


def test_fact_correction_keeps_history(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _setup(db)
    hh = make_household(db, VILLAGE_A1)
    db.commit()
    h = _token(client, "jb")
    body = {"kind": "income", "item": "wage", "amount": "1200", "period_start": "2026-05-01",
            "period_end": "2026-10-31"}
    first = client.post(f"/api/v1/households/{hh.id}/facts", headers=h, json=body)
    assert first.status_code == 201
    fixed = client.post(f"/api/v1/households/{hh.id}/facts", headers=h,
                        json={**body, "amount": "1500", "supersedes": first.json()["id"],
                              "source_kind": "investigated"})
    assert fixed.status_code == 201
    bad = client.post(f"/api/v1/households/{hh.id}/facts", headers=h, json={**body, "item": "lottery"})
    assert bad.status_code == 422
    rows = db.scalars(select(IncomeFact).where(IncomeFact.household_id == hh.id).order_by(IncomeFact.id)).all()
    assert [(str(r.amount), r.superseded_by) for r in rows] == [("1200.00", fixed.json()["id"]), ("1500.00", None)]


def test_member_leaves_and_head_changes_through_the_console(client, db: Session) -> None:  # type: ignore[no-untyped-def]

    from doudi.registry.models import Membership

    _setup(db)
    from datetime import date

    hh = make_household(db, VILLAGE_A1, members=[("王小红", "spouse", date(1972, 1, 1), "F"),
                                                 ("王大宝", "child", date(1995, 1, 1), "M")])
    db.commit()
    page = client.get("/login")
    token = found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": "jb", "password": PASSWORD, "csrf_token": token})
    csrf = found(r'data-csrf="([^"]+)"', client.get("/").text)
    son = next(m.person_id for m in hh.members if m.relation == "child")
    wife = next(m.person_id for m in hh.members if m.relation == "spouse")
    r = client.post(f"/households/{hh.id}/members/{son}/end", data={"csrf_token": csrf, "reason": "婚后另立户"},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/households/{hh.id}/head", data={"csrf_token": csrf, "person_id": wife,
                                                       "old_head_relation": "spouse"}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    rows = db.scalars(select(Membership).where(Membership.household_id == hh.id)).all()
    by_person = {m.person_id: m for m in rows}
    assert by_person[son].valid_to is not None  # closed, kept as history
    assert by_person[wife].relation == "head"
    assert sum(1 for m in rows if m.relation == "head" and m.valid_to is None) == 1
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(hh.id))))
    assert {"household.member_end", "household.head_change"} <= actions
