"""Support through the console and the API: a plan opened, visited, a trainee employed (the 渐退 review linked on
the plan's page), the plan ledger's Excel (worker phone masked), a pairing signed and an item delivered, the
household chain showing them, and a township outside the plan's refused."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.charity.support.models import Pairing, PairingItem, Plan, Training
from doudi.core import clock
from tests.charity.test_support import _world
from tests.factories import PASSWORD, TOWN_B, make_user


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/").text)
    assert csrf is not None
    return csrf.group(1)


def test_plan_and_pairing_through_the_pages(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _, _, hh, _ = _world(db)
    make_user(db, "other_town", ["township_caseworker"], TOWN_B)
    db.commit()
    csrf = _login(client, "sw_worker")
    today = clock.today().isoformat()
    r = client.post("/charity/support/plans", data={
        "csrf_token": csrf, "household_id": str(hh.id), "worker_name": "李社工", "worker_phone": "13912345678",
        "opened_on": today, "goal_area": ["employment", "health", "income"], "goal_target": ["稳定就业", "", ""]},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    plan = db.scalar(select(Plan).where(Plan.household_id == hh.id))
    assert plan is not None
    goal_id = re.search(r'name="goal_(\d+)"', client.get(f"/charity/support/plans/{plan.id}").text)
    assert goal_id is not None
    v = client.post(f"/charity/support/plans/{plan.id}/visits", data={
        "csrf_token": csrf, "version": str(plan.version), "visited_on": today, "visitor": "李社工", "notes": "入户",
        f"goal_{goal_id.group(1)}": "open", f"progress_{goal_id.group(1)}": "已对接培训"}, follow_redirects=False)
    assert v.status_code == 303, v.text
    son = next(m.person_id for m in hh.members if m.relation == "child")
    client.post(f"/charity/support/plans/{plan.id}/trainings", data={"csrf_token": csrf, "person_id": str(son),
                                                                     "course": "家政服务员"})
    t = db.scalar(select(Training).where(Training.plan_id == plan.id))
    assert t is not None
    bad = client.post(f"/charity/support/trainings/{t.id}/outcome", data={
        "csrf_token": csrf, "version": str(t.version), "outcome": "employed", "employer": "某家政", "wage": "两千"})
    assert bad.status_code == 422 and "月工资" in bad.text
    ok = client.post(f"/charity/support/trainings/{t.id}/outcome", data={
        "csrf_token": csrf, "version": str(t.version), "outcome": "employed", "employer": "某家政", "wage": "2600"})
    assert ok.status_code == 200 and "已提请（预警" in ok.text  # redirected back to the plan
    x = client.get("/charity/support/plans/export.xlsx")
    cells = [str(c) for row in load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True) for c in row]
    assert "139****5678" in cells and "13912345678" not in cells
    s = client.post("/charity/support/pairings", data={
        "csrf_token": csrf, "partner_key": "qy1", "company_name": "某机械公司", "household_id": str(hh.id),
        "pledge": "就业岗位", "start_on": today, "end_on": today, "item_kind": ["job", "goods"],
        "item_description": ["车间岗位", ""], "item_due": [today, ""], "item_value": ["", ""]}, follow_redirects=False)
    assert s.status_code == 303, s.text
    item = db.scalar(select(PairingItem).join(Pairing).where(Pairing.household_id == hh.id))
    assert item is not None
    d = client.post(f"/charity/support/items/{item.id}/deliver", data={
        "csrf_token": csrf, "version": str(item.version), "delivered_on": today, "note": "已上岗"})
    assert d.status_code == 200 and "已兑现" in d.text
    chain = client.get(f"/households/{hh.id}/chain").text
    assert "一对一帮扶开始" in chain and "某机械公司 签约帮扶" in chain and "已提请渐退复核" in chain
    client.get("/logout")
    _login(client, "other_town")
    assert client.get(f"/charity/support/plans/{plan.id}").status_code == 404
    assert "李社工" not in client.get("/charity/support/plans").text
