"""Charity through the real app: a partner's account sees only needs sent to it, masked, in the API, the pages and
the Excel export; the township's ledger; consent refusal as a clear 4xx; the partner register."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from doudi.charity import flows, service
from doudi.core import clock
from tests.charity.builders import consent, need, world
from tests.factories import PASSWORD, TOWN_A, make_user


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return re.search(r'data-csrf="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]


def _sent(db: Session) -> tuple[int, int]:
    """Need 1 (household A, consent given) sent to town_care; need 2 (household A, no consent) proposed only."""
    w = world(db)
    today = clock.today()
    consent(db, w.worker, w.a)
    sent = need(db, w.worker, w.a, deadline=today + timedelta(days=20), today=today)
    service.propose(db, actor=w.worker, today=today, need_ids=[sent.id])
    flows.confirm(db, actor=w.worker, need_id=sent.id, version=sent.version, match_id=None, today=today)
    kept = need(db, w.worker, w.a, kind="jobs", amount=None, deadline=today + timedelta(days=20), today=today)
    service.propose(db, actor=w.worker, today=today, need_ids=[kept.id])
    make_user(db, "care_acct", ["partner"], "370784", org="town_care")
    make_user(db, "fund_acct", ["partner"], "370784", org="county_fund")
    make_user(db, "town_a", ["township_caseworker"], TOWN_A)
    make_user(db, "county", ["county_officer"], "370784")
    db.commit()
    return sent.id, kept.id


def test_partner_api_sees_only_its_needs_masked(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    sent, _ = _sent(db)
    body = client.get("/api/v1/charity/needs", headers=_token(client, "care_acct")).json()
    assert [n["id"] for n in body["items"]] == [sent]
    item = body["items"][0]
    assert item["phone"] != "13912345678" and "*" in item["phone"]
    assert "*" in item["id_number"] and item["disability"] == "***"
    other = _token(client, "fund_acct")
    assert client.get("/api/v1/charity/needs", headers=other).json()["total"] == 0
    assert client.get(f"/api/v1/charity/needs/{sent}", headers=other).status_code == 404
    # acting outside its referrals: 404, nothing changes
    r = client.post(f"/api/v1/charity/needs/{sent}/actions", headers=other, json={"action": "accept"})
    assert r.status_code == 404
    # the partner may not run matching or raise needs
    assert client.post("/api/v1/charity/match", headers=other).status_code == 403
    # its own: accept, then a second accept on the same version is a 409
    mine = _token(client, "care_acct")
    version = item["version"]
    ok = client.post(f"/api/v1/charity/needs/{sent}/actions", headers=mine,
                     json={"action": "accept", "version": version})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    again = client.post(f"/api/v1/charity/needs/{sent}/actions", headers=mine,
                        json={"action": "accept", "version": version})
    assert again.status_code == 409


def test_confirm_without_consent_is_a_clear_refusal(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _, kept = _sent(db)
    headers = _token(client, "town_a")
    r = client.post(f"/api/v1/charity/needs/{kept}/actions", headers=headers, json={"action": "confirm"})
    assert r.status_code == 422
    assert "书面同意" in r.text


def test_partner_export_and_pages_are_scoped_and_masked(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    sent, kept = _sent(db)
    _login(client, "care_acct")
    xlsx = client.get("/charity/needs/export.xlsx")
    assert xlsx.status_code == 200
    cells = [str(c) for ws in load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets
             for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "13912345678" not in cells and "张三" in cells  # the head's name is shown, the phone masked
    rows = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows if isinstance(r[0], int)] == [sent]  # need numbers: only the one sent to it
    ledger = client.get("/charity/needs")
    assert f'href="/charity/needs/{sent}"' in ledger.text and f'href="/charity/needs/{kept}"' not in ledger.text
    assert client.get(f"/charity/needs/{kept}").status_code == 404
    workspace = client.get("/charity/workspace")
    assert workspace.status_code == 200 and "13912345678" not in workspace.text


def test_township_ledger_shows_unmet_needs(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    sent, kept = _sent(db)
    _login(client, "town_a")
    page = client.get("/charity/needs?status=unmet")
    # need `kept` waits (proposed, no consent); need `sent` was sent to a partner but not yet helped
    assert f'href="/charity/needs/{kept}"' in page.text and f'href="/charity/needs/{sent}"' not in page.text
    detail = client.get(f"/charity/needs/{kept}")
    assert "无有效同意" in detail.text
    dashboard = client.get("/charity/dashboard")
    assert dashboard.status_code == 200 and "data-echarts" in dashboard.text


def test_county_registers_a_partner_and_bad_input_is_refused(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _sent(db)
    headers = _token(client, "county")
    body = {"key": "new_org", "name": "新机构", "kind": "community", "area_code": TOWN_A, "offers": ["goods"],
            "capacity": {"goods": 3}}
    assert client.post("/api/v1/charity/partners", headers=headers, json=body).status_code == 201
    assert client.post("/api/v1/charity/partners", headers=headers, json=body).status_code == 409
    bad = {**body, "key": "other", "capacity": {"cash": 1}}  # capacity for something it does not offer
    r = client.post("/api/v1/charity/partners", headers=headers, json=bad)
    assert r.status_code == 422 and "承接能力" in r.text
    # a partner account needs a registered organisation
    from doudi.auth import service as auth
    from doudi.auth.permissions import system_actor
    from doudi.core.errors import ValidationFailed

    try:
        auth.create_user(db, actor=system_actor(), username="ghost", password=PASSWORD, roles=["partner"],
                         area_code="370784", org="not_registered")
        raise AssertionError("an unregistered partner key was accepted")
    except ValidationFailed as exc:
        assert "未在合作机构名录中登记" in str(exc)


def test_county_edits_a_partner_on_its_page(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    from doudi.charity.models import Partner

    _sent(db)
    org = db.query(Partner).filter_by(key="town_care").one()
    csrf = _login(client, "county")
    listing = client.get("/charity/partners?q=town_care")
    assert f'href="/charity/partners/{org.id}"' in listing.text
    assert "county_fund" not in listing.text  # the search keeps only the matching organisation
    page = client.get(f"/charity/partners/{org.id}")
    assert page.status_code == 200 and 'id="partner-edit"' in page.text
    form = {"csrf_token": csrf, "version": str(org.version), "name": "镇社工站（更名）", "kind": org.kind,
            "area_code": org.area_code, "offers": ["services", "goods"], "capacity": "生活服务=4，goods=2",
            "contact": "王", "phone": ""}
    assert client.post(f"/charity/partners/{org.id}", data=form, follow_redirects=False).status_code == 303
    db.expire_all()
    org = db.query(Partner).filter_by(key="town_care").one()
    # capacity typed by Chinese name and by code; the unchecked "active" box stops the partner
    assert (org.name, org.capacity, org.active) == ("镇社工站（更名）", {"services": 4, "goods": 2}, False)
    assert "停用" in client.get(f"/charity/partners/{org.id}").text
    stale = client.post(f"/charity/partners/{org.id}", data=form)  # the same, older version again
    assert stale.status_code == 409
    outside = client.post(f"/charity/partners/{org.id}",
                          data={**form, "version": str(org.version), "area_code": "370781"})
    assert outside.status_code == 422 and "服务区域 370781" in outside.text
    wrong = client.post(f"/charity/partners/{org.id}", data={**form, "version": str(org.version), "capacity": "物资"})
    assert wrong.status_code == 422 and "应写成 项目=数量" in wrong.text
    db.expire_all()
    assert db.query(Partner).filter_by(key="town_care").one().version == org.version  # refused edits changed nothing


def test_partner_account_sees_its_page_but_cannot_edit(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    from doudi.charity.models import Partner

    _sent(db)
    own = db.query(Partner).filter_by(key="town_care").one()
    other = db.query(Partner).filter_by(key="county_fund").one()
    csrf = _login(client, "care_acct")
    page = client.get(f"/charity/partners/{own.id}")
    assert page.status_code == 200 and 'id="partner-edit"' not in page.text
    assert client.get(f"/charity/partners/{other.id}").status_code == 404
    r = client.post(f"/charity/partners/{own.id}", data={"csrf_token": csrf, "version": str(own.version),
                                                         "name": "x", "kind": own.kind, "area_code": own.area_code,
                                                         "offers": ["goods"]})
    assert r.status_code == 403
