"""Headless Chromium, each role's main job (issue 15 items 8, 9, 12): the caseworker registers an application with
member rows added and removed, accepts it and starts the investigation with the investigators it then finds
pre-selected at 入户调查; the approver sees who the step waits for instead of a form, and a 403 page that names
the missing permission; the household page lists the case and links to 登记申请; a citizen adds and removes
member rows on /m/. Screenshots of every page are saved on failure (tests/conftest.py)."""

from __future__ import annotations

from datetime import date
from typing import cast

import pytest
from sqlalchemy import select

from doudi.cases.models import Case
from doudi.core.ids import build_id_number
from doudi.db.engine import session_scope
from doudi.portal import otp
from tests.cases.world import make_world
from tests.factories import PASSWORD, VILLAGE_A1
from tests.live import login, serve

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    login(page, base, username, PASSWORD)


def test_caseworker_application_and_approver_waits(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_world(s)  # worker1 (township caseworker), approver1, verifier1 … in 新安街道 / 安丘
    head = build_id_number("370784", date(1961, 4, 2), 511, "M")
    wife = build_id_number("370784", date(1963, 9, 9), 512, "F")
    with serve(fresh_database.url, tmp_path / "var") as base:
        _login(page, base, "worker1")
        page.goto(f"{base}/cases/new")
        rows = page.locator("#member-rows .member-row")
        assert rows.count() == 2  # two rows to start with
        page.click("text=添加成员")
        page.click("text=添加成员")
        assert rows.count() == 4
        rows.nth(3).locator("[data-remove-row]").click()  # one too many: removed again
        assert rows.count() == 3
        page.select_option("select[name=area_code]", VILLAGE_A1)
        page.fill("input[name=address]", "东村 8 号")
        page.fill("input[name=applicant_name]", "孟庆山")
        page.fill("input[name=applicant_id_number]", head)
        for i, (name, number, relation) in enumerate([("孟庆山", head, "head"), ("于桂兰", wife, "spouse")]):
            row = rows.nth(i)
            row.locator("input[name$=_name]").fill(name)
            row.locator("input[name$=_id_number]").fill(number)
            row.locator("select").select_option(relation)
            row.locator("input[name$=_wage]").fill("100")
            row.locator("input[type=checkbox]").check()
        # The checkbox sits on the same line as its words.
        box = rows.nth(0).locator("label.check input").bounding_box()
        words = rows.nth(0).locator("label.check").bounding_box()
        assert box is not None and words is not None and abs(box["y"] - words["y"]) < 12
        page.click("#application-form button.primary")
        page.wait_for_selector("#active-step")
        assert "启动家庭经济状况调查" in page.inner_text("#active-step")
        # Investigators offered: staff who may investigate (the caseworkers), not the approver or the verifier.
        offered = page.locator("#active-step input[name='investigator_ids[]']")
        labels = page.inner_text("#active-step fieldset")
        assert offered.count() == 2 and "approver1" not in labels and "verifier1" not in labels
        offered.first.check()
        page.click("#active-step button.primary")
        page.wait_for_selector("text=提交入户调查")
        assert page.locator("#active-step input[name='investigator_ids[]']:checked").count() == 1  # chosen before
        assert page.input_value("#active-step input[name='investigators[]'] >> nth=0") != ""
        with session_scope(fresh_database.engine) as s:
            case = s.scalars(select(Case).where(Case.applicant_name == "孟庆山")).one()
            # Three rows were on the form, two filled: the empty one is no member.
            declared = cast(list[dict[str, str]], case.declared["members"])
            assert [m["name"] for m in declared] == ["孟庆山", "于桂兰"]
            case_id, household_id = case.id, case.household_id
        # The household page lists the case and offers a new application.
        page.goto(f"{base}/households/{household_id}")
        assert page.locator(f"#household-cases a[href='/cases/{case_id}']").count() == 1
        assert page.locator("#apply-for-household").count() == 1

        page.goto(f"{base}/login")  # the approver: no form for 入户调查, a note on who acts
        page.context.clear_cookies()
        _login(page, base, "approver1")
        page.goto(f"{base}/cases/{case_id}")
        assert page.locator("#active-step form").count() == 0
        assert "等待" in page.inner_text("#waiting-for") and "入户调查" in page.inner_text("#waiting-for")
        denied = page.goto(f"{base}/cases/new")
        assert denied is not None and denied.status == 403
        text = page.inner_text("main")
        assert "登记申请" in text and "乡镇经办人" in text and "乡镇审批人" in text


def test_citizen_adds_and_removes_member_rows(fresh_database, tmp_path, browser) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_world(s)
    phone = "13712340001"
    applicant = build_id_number("370784", date(1980, 1, 15), 521, "F")
    child = build_id_number("370784", date(2012, 6, 1), 522, "M")
    with serve(fresh_database.url, tmp_path / "var") as base:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
        m = ctx.new_page()
        m.set_default_timeout(15000)
        m.goto(f"{base}/m/")
        m.fill("input[name=phone]", phone)
        m.click("text=获取验证码")
        m.fill("input[name=code]", next(c for p, c in reversed(otp.SENT) if p == phone))
        m.click("button:has-text('登录')")
        m.click("text=为本人申请")
        members = m.locator("#member-rows fieldset.member")
        assert members.count() == 1
        for _ in range(3):
            m.click("text=添加家庭成员")
        assert members.count() == 4
        members.nth(2).locator("[data-remove-row]").click()
        members.nth(2).locator("[data-remove-row]").click()
        assert members.count() == 2
        m.fill("input[name=applicant_name]", "蒋秀梅")
        m.fill("input[name=applicant_id_number]", applicant)
        m.select_option("select[name=area_code]", VILLAGE_A1)
        for i, (name, number, relation) in enumerate([("蒋秀梅", applicant, "head"), ("蒋小军", child, "child")]):
            row = members.nth(i)
            row.locator("input[name$=_name]").fill(name)
            row.locator("input[name$=_id_number]").fill(number)
            row.locator("select").select_option(relation)
            row.locator("input[type=checkbox]").check()
        m.click("text=提交申请")
        m.wait_for_selector("#m-status")
        ctx.close()
    with session_scope(fresh_database.engine) as s:
        case = s.scalars(select(Case).where(Case.applicant_name == "蒋秀梅")).one()
        # Rows 0 and 3 remained (1 and 2 were removed): both reach the application, in order.
        declared = cast(list[dict[str, str]], case.declared["members"])
        assert [m["name"] for m in declared] == ["蒋秀梅", "蒋小军"]
