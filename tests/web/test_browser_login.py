"""Headless Chromium: a township user signs in, searches a household, opens it, and sees only their township."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from doudi.db.engine import session_scope
from tests.factories import PASSWORD, TOWN_A, VILLAGE_A1, VILLAGE_B1, make_areas, make_household, make_user
from tests.live import serve, wait_text

pytestmark = pytest.mark.browser


def test_township_user_sees_only_their_township(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_areas(s)
        make_user(s, "xinan_jb", ["township_caseworker"], TOWN_A, full_name="新安经办")
        mine = make_household(s, VILLAGE_A1, head_name="李秀英")
        other = make_household(s, VILLAGE_B1, head_name="赵铁柱")
        mine_no, other_no, mine_id, other_id = mine.household_no, other.household_no, mine.id, other.id

    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/households")
        assert "/login" in page.url  # not signed in yet
        page.fill("input[name=username]", "xinan_jb")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/households")

        table = page.inner_text("#household-table")
        assert mine_no in table
        assert other_no not in table and "赵铁柱" not in table

        # Typing searches (after a short pause): the table is swapped and the address gains the query. Until then
        # the old table still shows the household, and a click on it would be overtaken by the swap.
        page.fill("input[name=q]", "李秀英")
        page.wait_for_url(re.compile(r"/households\?q="))
        expect(page.locator(".htmx-request")).to_have_count(0, timeout=15000)  # no search still in flight
        wait_text(page, "#household-table", "李秀英")
        page.click(f"text={mine_no}")
        page.wait_for_url(f"{base}/households/{mine_id}")
        assert "李秀英" in page.inner_text("#members")
        assert "*" in page.inner_text("#members .idno")  # ID masked on the detail page too

        # Another township's household cannot be opened by URL: it looks like it does not exist.
        resp = page.goto(f"{base}/households/{other_id}")
        assert resp is not None and resp.status == 404
        assert "赵铁柱" not in page.content()
