"""Headless Chromium on a phone-sized screen: a caregiver checks in and out of today's visit with the browser's
location; the visit is too short and is flagged; a supervisor accepts it in the console with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from doudi.care import visits
from doudi.care.models import CareVisit
from doudi.care.rules import LOCAL, local_time
from doudi.db.engine import session_scope
from tests.care.world import HOME_A, build
from tests.factories import PASSWORD, TOWN_A, make_user
from tests.live import login, serve

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    login(page, base, username, PASSWORD)


def test_caregiver_checks_in_and_out_supervisor_accepts(fresh_database, tmp_path, browser) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC).astimezone(LOCAL).date()
    with session_scope(fresh_database.engine) as s:
        w = build(s)
        carer = make_user(s, "carer1", ["care_provider"], TOWN_A, org="ankang_care")
        make_user(s, "sup1", ["township_caseworker"], TOWN_A)
        w.giver.user_id = carer.id
        visit_id = visits.schedule_visit(s, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id,
                                         service="meal", start=local_time(today, 0, 5),
                                         end=local_time(today, 1, 5)).id
    with serve(fresh_database.url, tmp_path / "var") as base:
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                    locale="zh-CN", permissions=["geolocation"],
                                    geolocation={"latitude": HOME_A[0], "longitude": HOME_A[1]})
        m = phone.new_page()
        m.set_default_timeout(15000)
        _login(m, base, "carer1")
        m.goto(f"{base}/care/m")
        card = m.locator(f"#v{visit_id}")
        assert "孙老汉" in card.inner_text() and "已排班" in card.inner_text()
        card.locator("button:has-text('签到')").click()
        m.wait_for_selector(f"#v{visit_id} button:has-text('签退')")
        assert "服务中" in m.locator(f"#v{visit_id}").inner_text()
        m.locator(f"#v{visit_id} textarea[name=note]").fill("已送午餐")
        m.locator(f"#v{visit_id} button:has-text('签退')").click()
        m.wait_for_selector(f"#v{visit_id} .visit-status:has-text('待人工核实')")
        assert "服务时长不足" in m.locator(f"#v{visit_id}").inner_text()
        assert m.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # fits the phone
        with session_scope(fresh_database.engine) as s:
            v = s.scalars(select(CareVisit).where(CareVisit.id == visit_id)).one()
            assert v.in_lat == pytest.approx(HOME_A[0]) and v.distance_m == 0 and v.note == "已送午餐"
            assert v.flags == ["short"]

        desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        desk.set_default_timeout(15000)
        _login(desk, base, "sup1")
        desk.goto(f"{base}/care/visits?status=flagged")
        row = desk.locator(f"#visit-{visit_id}")
        row.locator("input[name=reason]").fill("电话回访：服务对象确认已送餐")
        row.locator("button[value=accept]").click()
        desk.wait_for_url(f"{base}/care/visits?status=flagged")
        assert desk.locator(f"#visit-{visit_id}").count() == 0
        # The command centre draws its charts from the locally served ECharts (no CDN, CSP 'self').
        desk.goto(f"{base}/care?month={today:%Y-%m}")
        desk.wait_for_selector("#chart-towns canvas")
        assert "新安街道" in desk.inner_text("#by-township")
        with session_scope(fresh_database.engine) as s:
            v = s.scalars(select(CareVisit).where(CareVisit.id == visit_id)).one()
            assert (v.status, v.reviewed_by) == ("accepted", "sup1")
