"""Headless Chromium, the caseworker's main job from the application to the decision (issue 15 item 12): in 安丘
the caseworker registers and accepts, starts the investigation and records the home visit, the verifier gives the
核对 conclusion, the caseworker the 初审 opinion (pre-set from the engine), the township approver confirms and
decides, and the notice carries the amount computed by hand from the 安丘 pack. 安丘 delegated approval to the
townships and dropped 公示 (the case has no such step); the 台山 test runs 公示 with an objection, the 民主评议 it
calls for, a new 初审 and 公示, and the county's confirmation. Screenshots on failure (tests/conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from doudi.cases.models import Case, CaseStep, Enrollment
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.db.engine import session_scope
from tests.cases.world import TAISHAN_VILLAGE, make_world
from tests.factories import PASSWORD, VILLAGE_A1
from tests.live import login, serve, wait_text
from tests.pdf import pdf_text

pytestmark = pytest.mark.browser


def _as(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    login(page, base, username, PASSWORD)


def _step_is(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the case page (reloaded after a post's redirect) shows `label` as the active step."""
    wait_text(page, "#active-step h2", label)


def _apply(page, base: str, area: str, members: list[tuple[str, str, str, str]]) -> int:  # type: ignore[no-untyped-def]
    """Fill the application form (name, ID number, relation, monthly wage per member), accept it; the case id."""
    page.goto(f"{base}/cases/new")
    page.select_option("select[name=area_code]", area)
    page.fill("input[name=address]", "东村 12 号")
    page.fill("input[name=applicant_name]", members[0][0])
    page.fill("input[name=applicant_id_number]", members[0][1])
    rows = page.locator("#member-rows .member-row")
    for i, (name, number, relation, wage) in enumerate(members):
        row = rows.nth(i)
        row.locator("input[name$=_name]").fill(name)
        row.locator("input[name$=_id_number]").fill(number)
        row.locator("select").select_option(relation)
        row.locator("input[name$=_wage]").fill(wage)
        row.locator("input[type=checkbox]").check()
    page.click("#application-form button.primary")
    _step_is(page, "启动家庭经济状况调查")
    return int(page.url.rstrip("/").rsplit("/", 1)[-1].split("#")[0])


def _investigate(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#active-step input[name='investigator_ids[]']").first.check()
    page.click("#active-step button.primary")
    _step_is(page, "入户调查")
    page.fill("#active-step input[name='investigators[]'] >> nth=1", "村委会 李会计")
    page.fill("#active-step textarea[name=findings]", "三间平房，家具简陋，户主务农，配偶无收入")
    page.click("#active-step button.primary")
    _step_is(page, "信息核对")


def _verify(page, base: str, case_id: int, username: str) -> None:  # type: ignore[no-untyped-def]
    _as(page, base, username)
    page.goto(f"{base}/cases/{case_id}")
    assert page.locator("#active-step a[href^='/verification/requests/']").count() == 1  # the request's report
    page.select_option("#active-step select[name=conclusion]", "consistent")
    page.click("#active-step button.primary")
    _step_is(page, "初审")


def _notice_text(page, base: str) -> str:  # type: ignore[no-untyped-def]
    href = page.get_attribute("#notices a", "href")
    assert href is not None
    response = page.request.get(f"{base}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    return pdf_text(response.body()).replace(" ", "")


def test_caseworker_application_to_decision(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_world(s)
    head = build_id_number("370784", date(1968, 3, 5), 611, "M")
    wife = build_id_number("370784", date(1970, 8, 9), 612, "F")
    with serve(fresh_database.url, tmp_path / "var") as base:
        _as(page, base, "worker1")
        case_id = _apply(page, base, VILLAGE_A1, [("贾守田", head, "head", "500"), ("董秀珍", wife, "spouse", "0")])
        # 安丘 (rural): the head's wage 500 less the employment-cost deduction 200 = 300 counted; per person
        # 300 / 2 = 150; (537 − 150) × 2 = 774 yuan a month.
        assert "774.00" in page.inner_text("#evaluation")
        steps = page.inner_text("#steps")
        assert "公示" not in steps and "民主评议" not in steps  # 安丘: approval delegated, no 公示
        _investigate(page)

        _verify(page, base, case_id, "verifier1")

        _as(page, base, "worker1")
        page.goto(f"{base}/cases/{case_id}")
        assert page.is_checked("#active-step input[name='op.dibao.decision'][value=approve]")  # as the engine found
        assert float(page.input_value("#active-step input[name='op.dibao.monthly_amount']")) == 774
        page.click("#active-step button.primary")
        _step_is(page, "审核确认")
        assert page.locator("#active-step form").count() == 0  # a caseworker cannot confirm: no form

        _as(page, base, "approver1")
        page.goto(f"{base}/cases/{case_id}")
        assert float(page.input_value("#active-step input[name='op.dibao.monthly_amount']")) == 774
        page.click("#active-step button.primary")
        _step_is(page, "决定与告知")
        assert "3 个工作日内书面告知" in page.inner_text("#active-step")  # the pack's rejection_notice_workdays
        page.click("#active-step button.primary")
        wait_text(page, "#case-status", "已办结")
        decisions = page.inner_text("#decisions")
        assert "确认同意" in decisions and "774.00" in decisions
        text = _notice_text(page, base)
        assert "社会救助审核确认通知书" in text and "贾守田" in text and "774.00/月" in text
    with session_scope(fresh_database.engine) as s:
        e = s.scalars(select(Enrollment).join(Case, Enrollment.origin_case_id == Case.id)
                      .where(Case.id == case_id)).one()
        assert (e.program, str(e.monthly_amount)) == ("dibao", "774.00")


def test_publicity_objection_and_democratic_review(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_world(s)  # js_worker (台城街道), js_county (台山 county officer)
    head = build_id_number("440781", date(1966, 2, 3), 631, "M")
    with serve(fresh_database.url, tmp_path / "var") as base:
        _as(page, base, "js_worker")
        case_id = _apply(page, base, TAISHAN_VILLAGE, [("伍金荣", head, "head", "0")])
        # 台山 rural standard 850 (pack, provisional), no income, one person of 60 (elderly from 60): the gap
        # 850 plus the elderly increment of 10 % of the standard (national pack, provisional) = 935 a month.
        assert "935.00" in page.inner_text("#evaluation")
        _investigate(page)
        _verify(page, base, case_id, "js_county")  # 台山: the county officer also verifies

        _as(page, base, "js_worker")
        page.goto(f"{base}/cases/{case_id}")
        page.click("#active-step button.primary")  # 初审 as the engine found
        _step_is(page, "公示")
        assert page.is_disabled("#active-step button.primary")  # 7 days of 公示 have not run out
        assert "起 7 天" in page.inner_text("#active-step")  # the national pack's publicity_days
        page.fill("#active-step textarea[name=content]", "村民反映申请人有一辆货车")
        page.select_option("#active-step select[name=resolution]", "democratic_review")
        page.click("#active-step button:has-text('登记异议')")
        _step_is(page, "民主评议")
        inputs = page.locator("#active-step input[name='participants[]']")
        for i, who in enumerate(["村支书 伍国强", "村民代表 李玉梅", "驻村干部 陈志"]):
            inputs.nth(i).fill(who)
        page.fill("#active-step textarea[name=result]", "经评议，货车已于去年报废，申请人生活确实困难")
        page.click("#active-step button.primary")
        _step_is(page, "初审")
        page.click("#active-step button.primary")
        _step_is(page, "公示")
        with session_scope(fresh_database.engine) as s:  # the second 公示's 7 days run out today
            s.execute(update(CaseStep).where(CaseStep.case_id == case_id, CaseStep.key == "publicity",
                                             CaseStep.status == "active").values(due_on=clock.today()))
        page.reload()
        page.click("#active-step button.primary")  # 公示期满无异议
        _step_is(page, "审核确认")
        steps = page.inner_text("#steps")
        assert "公示有异议" in steps and "民主评议（第2轮）" in steps, steps
        assert "公示（第2轮）" in steps and "公示无异议" in steps, steps

        _as(page, base, "js_county")  # 台山: the county confirms and decides
        page.goto(f"{base}/cases/{case_id}")
        assert float(page.input_value("#active-step input[name='op.dibao.monthly_amount']")) == 935
        page.click("#active-step button.primary")
        _step_is(page, "决定与告知")
        page.click("#active-step button.primary")
        wait_text(page, "#case-status", "已办结")
        assert "935.00/月" in _notice_text(page, base)
