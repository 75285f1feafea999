"""Headless Chromium: a citizen applies on /m/ on a phone-sized screen, the township accepts and approves it in
the console, and the citizen sees the status change."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from doudi.auth.permissions import Actor
from doudi.cases import steps
from doudi.cases.models import Case
from doudi.core.ids import build_id_number
from doudi.db.engine import begin_write, session_scope
from doudi.portal import otp
from tests.cases.world import make_world
from tests.factories import PASSWORD, VILLAGE_A1
from tests.live import login, serve

pytestmark = pytest.mark.browser
PHONE = "13712345678"


def _staff_login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    login(page, base, username, PASSWORD)


def test_citizen_applies_township_approves_citizen_sees_it(fresh_database, tmp_path, browser) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        staff = make_world(s)
    applicant_id = build_id_number("370784", date(1976, 8, 8), 401, "F")
    with serve(fresh_database.url, tmp_path / "var") as base:
        phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                        locale="zh-CN")
        m = phone_ctx.new_page()
        m.set_default_timeout(15000)
        m.goto(f"{base}/m/")
        m.fill("input[name=phone]", PHONE)
        m.click("text=获取验证码")
        code = next(c for p, c in reversed(otp.SENT) if p == PHONE)  # demo sender: the code is in the log
        m.fill("input[name=code]", code)
        m.click("button:has-text('登录')")
        m.click("text=为本人申请")
        m.fill("input[name=applicant_name]", "冯桂英")
        m.fill("input[name=applicant_id_number]", applicant_id)
        m.select_option("select[name=area_code]", VILLAGE_A1)
        m.fill("input[name=m0_name]", "冯桂英")
        m.fill("input[name=m0_id_number]", applicant_id)
        m.fill("input[name=m0_wage]", "150")
        m.check("input[name=m0_authorised]")
        m.click("text=提交申请")
        m.wait_for_selector("#m-status")
        assert "等待乡镇受理" in m.inner_text("#m-status")
        # The form fits a phone screen: no horizontal scrolling.
        assert m.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        case_url = m.url

        with session_scope(fresh_database.engine) as s:
            case_id = s.scalars(select(Case.id).where(Case.portal_phone == PHONE)).one()
        desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        desk.set_default_timeout(15000)
        _staff_login(desk, base, "worker1")
        desk.goto(f"{base}/cases/{case_id}")
        desk.click("#accept-btn")
        desk.wait_for_selector("#active-step")
        m.reload()
        assert "办理中" in m.inner_text("#m-status")

        with session_scope(fresh_database.engine) as s:  # the steps between acceptance and confirmation
            # A writer from the start: on SQLite a reading transaction that the server's own write overtakes
            # cannot become a writer ("database is locked" at once, past any busy timeout).
            begin_write(s)
            case = s.get(Case, case_id)
            assert case is not None
            step_data: list[tuple[str, Actor, dict[str, Any]]] = [
                ("investigation_start", staff.worker, {}),
                ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "独居，无稳定收入"}),
                ("verification", staff.verifier, {"conclusion": "consistent"}),
                ("first_review", staff.worker, {"opinions": {"dibao": {"decision": "approve",
                                                                       "monthly_amount": "387"}}}),
            ]
            for key, actor, data in step_data:
                steps.act(s, actor=actor, case_id=case_id, step_key=key, action="complete", data=data,
                          version=case.version)

        desk.context.clear_cookies()
        _staff_login(desk, base, "approver1")
        desk.goto(f"{base}/cases/{case_id}")
        desk.check("input[name='op.dibao.decision'][value=approve]")
        desk.fill("input[name='op.dibao.monthly_amount']", "387")
        desk.click("text=作出审核确认意见")
        desk.wait_for_selector("text=作出决定并生成告知书")
        desk.click("text=作出决定并生成告知书")
        desk.wait_for_selector("#notices")

        m.goto(case_url)
        assert "已办结" in m.inner_text("#m-status")
        assert "387" in m.content() and "同意" in m.content()
        phone_ctx.close()
