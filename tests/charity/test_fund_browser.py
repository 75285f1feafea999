"""Headless Chromium: the county fund's checker opens a pending grant and approves it; the balance falls by the
grant (1,000.00 − 250.00 = 750.00 of general money) and the chart block of the fund is on the overview."""

from __future__ import annotations

import pytest

from doudi.charity.fund import service
from doudi.db.engine import session_scope
from tests.charity.test_fund import COUNTY, give, make_staff
from tests.factories import PASSWORD, VILLAGE_A1, make_household
from tests.live import serve, wait_text

pytestmark = pytest.mark.browser


def test_checker_approves_a_grant(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        staff = make_staff(s)
        hh = make_household(s, VILLAGE_A1, head_name="郑七")
        give(s, staff.maker, "R-BR", 100_000, "general", False)
        grant_id = service.make_grant(s, actor=staff.maker, amount_fen=25_000, purpose="one_off_aid", pool="general",
                                      reason="火灾后临时安置", household_id=hh.id).id

    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/charity/fund?area={COUNTY}")
        page.fill("input[name=username]", "fund_checker")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/charity/fund?area={COUNTY}")
        assert "1000.00" in page.inner_text("#fund-balances")
        assert page.query_selector("#chart-fund-balance") is not None
        page.click(f"#fund-waiting a[href='/charity/fund/grants/{grant_id}']")
        page.wait_for_url(f"{base}/charity/fund/grants/{grant_id}")
        page.click("#grant-decide button[value=approve]")
        wait_text(page, "#grant-status", "已批准")
        assert page.query_selector("#grant-decide") is None  # decided once; the form is gone
        page.goto(f"{base}/charity/fund?area={COUNTY}")
        assert "750.00" in page.inner_text("#fund-balances")
