"""Headless Chromium: a county checker opens the roll list, the roll (accounts masked) and approves it."""

from __future__ import annotations

from datetime import date

import pytest

from doudi.auth import service as auth
from doudi.db.engine import session_scope
from doudi.payments import service
from tests.factories import PASSWORD, VILLAGE_A1, make_household, make_user
from tests.live import serve, wait_text
from tests.payments.world import COUNTY, account, enroll, make_staff

pytestmark = pytest.mark.browser


def test_checker_approves_a_roll(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_staff(s)
        hh = make_household(s, VILLAGE_A1, head_name="孙秀兰")
        account(s, f"H{hh.id}", "6230123456789012", name="孙秀兰")
        enroll(s, program="dibao", amount="1074.00", start=date(2026, 1, 1), household=hh)
        maker = auth.actor_for(make_user(s, "pay_maker_b", ["county_officer"], COUNTY))
        roll_id = service.generate_roll(s, actor=maker, county=COUNTY, month=date(2026, 1, 1), program="dibao").id

    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/payments/rolls")
        page.fill("input[name=username]", "pay_checker")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/payments/rolls")
        table = page.inner_text("#roll-table")
        assert "最低生活保障" in table and "1074.00" in table and "待审核" in table
        page.click(f"#roll-table a[href='/payments/rolls/{roll_id}']")
        page.wait_for_url(f"{base}/payments/rolls/{roll_id}")
        lines = page.inner_text("#line-table")
        assert "孙秀兰" in lines and "6230********9012" in lines and "6230123456789012" not in page.content()
        page.click("#approve")
        # The approval posts and redirects: between the two pages the element is briefly absent.
        wait_text(page, "#roll-status", "已审核")
        assert "pay_checker" in page.content()
        assert page.query_selector("#approve") is None  # approved once; the button is gone
