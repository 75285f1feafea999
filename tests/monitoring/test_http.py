"""Ledger pages, API and exports through the real app: area scoping, the reason why, actions, masking, Excel."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from tests.factories import PASSWORD, TOWN_A, TOWN_B, make_user
from tests.monitoring.builders import ON, county, death_feed


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return re.search(r'data-csrf="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _world(db: Session, tmp_path: Path) -> tuple[MonitorWarning, MonitorWarning]:
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=system_actor(name="test"), on=ON, area="370784")
    make_user(db, "town_a", ["township_caseworker"], TOWN_A)
    make_user(db, "town_b", ["township_caseworker"], TOWN_B)
    make_user(db, "county", ["county_officer"], "370784")
    db.commit()
    death = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "death"))
    review = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "review_overdue"))
    assert death is not None and review is not None
    return death, review


def test_ledger_page_scoped_filtered_and_detail(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Township A sees A's death warning (masked ID, the reason) but not B's review; the filter narrows; B's
    detail page is 404 for A; the chart library is the vendored file."""
    death, review = _world(db, tmp_path)
    _login(client, "town_a")
    page = client.get("/monitoring?status=open")
    assert page.status_code == 200
    assert f'href="/monitoring/{death.id}"' in page.text and f'href="/monitoring/{review.id}"' not in page.text
    assert death.id_number not in page.text and death.id_number[:6] in page.text
    assert '/static/vendor/echarts.min.js' in page.text and "cdn" not in page.text.lower()
    only = client.get("/monitoring?rule=supporter_lost&status=open")
    assert f'href="/monitoring/{death.id}"' not in only.text and "唯一有能力成员死亡" in only.text
    detail = client.get(f"/monitoring/{death.id}")
    assert detail.status_code == 200 and "2026-11-10" in detail.text and "火化记录" in detail.text
    # a caseworker can raise a charity need from the warning, for its household
    assert (f'href="/charity/needs/new?household_id={death.household_id}&amp;warning_id={death.id}"'
            in detail.text)
    assert client.get(f"/monitoring/{review.id}").status_code == 404
    chain = client.get(f"/households/{death.household_id}")
    assert "监测预警与转办" in chain.text and "救助对象死亡或火化" in chain.text and "唯一有能力成员死亡" in chain.text


def test_dispose_from_page_and_export(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A's worker disposes the death warning by suspension from the page; the Excel export holds A's warnings
    only, with masked ID numbers; a disposal without reason is refused with a Chinese message."""
    death, _ = _world(db, tmp_path)
    csrf = _login(client, "town_a")
    bad = client.post(f"/monitoring/{death.id}", data={"csrf_token": csrf, "action": "dispose",
                                                       "version": death.version, "disposition": "suspend", "note": ""})
    assert bad.status_code == 422 and "请填写处置理由" in bad.text
    ok = client.post(f"/monitoring/{death.id}", data={"csrf_token": csrf, "action": "dispose",
                                                      "version": death.version, "disposition": "suspend",
                                                      "note": "火化属实，暂停发放"}, follow_redirects=False)
    assert ok.status_code == 303
    db.expire_all()
    got = db.get(MonitorWarning, death.id)
    assert got is not None and got.status == "disposed" and got.disposition == "suspend"
    xlsx = client.get("/monitoring/export.xlsx?status=")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = [r for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)]
    assert sorted(r[1] for r in rows) == ["death", "supporter_lost"]
    assert all("*" in str(r[7]) for r in rows)


def test_api_scoping_unmask_and_actions(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The API lists only the caller's area; CSV export masks unless unmasked with a reason by someone allowed;
    the county officer runs a comparison (nothing new) and closes B's warning."""
    death, review = _world(db, tmp_path)
    a = _token(client, "town_a")
    listed = client.get("/api/v1/monitoring/warnings", headers=a).json()
    assert listed["total"] == 2 and {w["rule_key"] for w in listed["items"]} == {"death", "supporter_lost"}
    assert client.get(f"/api/v1/monitoring/warnings/{review.id}", headers=a).status_code == 404
    assert client.get("/api/v1/monitoring/warnings/export?unmask=true&reason=x", headers=a).status_code == 403
    cty = _token(client, "county")
    no_reason = client.get("/api/v1/monitoring/warnings/export?unmask=true", headers=cty)
    assert no_reason.status_code == 422
    csv = client.get("/api/v1/monitoring/warnings/export?unmask=true&reason=核对死亡信息", headers=cty)
    assert csv.status_code == 200 and death.id_number in csv.text
    assert csv.text.lstrip("\ufeff").splitlines()[0].startswith("id,rule,rule_label,level,status,household_id")
    again = client.post("/api/v1/monitoring/runs", headers=cty, json={"on": str(ON)})
    assert again.status_code == 201 and again.json()["new"] == 0
    closed = client.post(f"/api/v1/monitoring/warnings/{review.id}/actions", headers=cty,
                         json={"action": "close", "version": review.version, "note": "已完成复核"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.post("/api/v1/monitoring/runs", headers=a, json={}).status_code == 403


def test_household_chain_in_time_order_and_scoped(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Household A's chain: its 低保 enrollment since 2025-01 (1127.70 a month), then the death warning of
    2026-11-16 and, once disposed by suspension (today, later still), the disposition — in that order. Township B's
    worker gets 404 for A's chain; the household page links to it."""
    death, _ = _world(db, tmp_path)
    a = death.household_id
    csrf = _login(client, "town_a")
    client.post(f"/monitoring/{death.id}", data={"action": "dispose", "version": death.version,
                                                 "disposition": "suspend", "note": "火化属实", "csrf_token": csrf})
    page = client.get(f"/households/{a}/chain")
    assert page.status_code == 200
    text = page.text[page.text.index('id="chain"'):]
    enrolled, warned, disposed = text.index("纳入保障"), text.index("监测预警"), text.index("预警处置")
    assert enrolled < warned < disposed and "1127.70" in text and "2025-01-01" in text
    assert 'id="chain-link"' in client.get(f"/households/{a}").text
    other = client.__class__(client.app)
    _login(other, "town_b")
    assert other.get(f"/households/{a}/chain").status_code == 404
