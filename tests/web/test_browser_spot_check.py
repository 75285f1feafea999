"""Headless Chromium, the county spot check of a township-confirmed 特困 case (特困人员认定办法 Art. 16; issue 15
item 12): the county officer finds the case in the inbox, overturns the township's amount with the figure the
pack gives, and the township approver then decides at the corrected amount. Screenshots on failure."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from doudi.auth.permissions import Actor
from doudi.cases import steps
from doudi.cases.models import Enrollment
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.db.engine import session_scope
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD
from tests.live import login, serve, wait_text

pytestmark = pytest.mark.browser


def _step_is(page, label: str) -> None:  # type: ignore[no-untyped-def]
    wait_text(page, "#active-step h2", label)


def test_county_spot_check_overturns_the_amount(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    today = clock.today()  # the live server's "today"
    elder = build_id_number("370784", date(1946, 2, 1), 731, "M")
    township: dict[str, Any] = {"opinions": {"extreme_poverty": {"decision": "approve", "monthly_amount": "960"}}}
    with session_scope(fresh_database.engine) as s:
        staff = make_world(s)
        case = apply(s, staff.worker, on=today, members=[member(
            "蔡老汉", elder, "head", self_care_unable_items=2, labour_capacity="none", supporters_elsewhere_able=0,
            supporters_elsewhere_unable=0, support_mode="dispersed")])
        # The township leaves out the care standard: 960 (basic only) instead of 1,160.
        plan: list[tuple[Actor, str, dict[str, Any]]] = [
            (staff.worker, "investigation_start", {}),
            (staff.worker, "home_visit", {"investigators": ["甲", "乙"], "findings": "独居，两项不能自理"}),
            (staff.verifier, "verification", {"conclusion": "consistent"}),
            (staff.worker, "first_review", township), (staff.approver, "confirmation", township)]
        for actor, key, data in plan:
            steps.act(s, actor=actor, case_id=case.id, step_key=key, action="complete", data=data,
                      version=case.version, today=today)
        assert case.steps[-2].key == "spot_check" and case.steps[-2].status == "active"  # sampled (first this year)
        case_id = case.id

    with serve(fresh_database.url, tmp_path / "var") as base:
        login(page, base, "county1", PASSWORD)
        page.goto(f"{base}/inbox")
        page.click(f"a[href='/cases/{case_id}']")
        _step_is(page, "县级抽查")
        assert "比例不低于 30%" in page.inner_text("#active-step")  # the national pack's share, 0.3
        page.select_option("#active-step select[name=result]", "overturned")
        page.fill("#active-step input[name=note]", "入户核实：两项不能自理，应计发部分护理标准")
        # Rural basic standard 960 + partial-care standard 200 (two of six items unable; national pack,
        # provisional) = 1,160 yuan a month.
        page.fill("#active-step input[name='op.extreme_poverty.monthly_amount']", "1160")
        page.click("#active-step button.primary")
        _step_is(page, "决定与告知")
        assert "纠正" in page.inner_text("#steps")
        assert "1160.00" in page.inner_text("#decisions").replace(",", "")

        page.context.clear_cookies()
        login(page, base, "approver1", PASSWORD)
        page.goto(f"{base}/cases/{case_id}")
        page.click("#active-step button.primary")
        wait_text(page, "#case-status", "已办结")
    with session_scope(fresh_database.engine) as s:
        e = s.scalars(select(Enrollment).where(Enrollment.origin_case_id == case_id)).one()
        assert (e.program, str(e.monthly_amount)) == ("extreme_poverty", "1160.00")
