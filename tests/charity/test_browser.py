"""Headless Chromium: the township worker raises a need, has a partner proposed and confirms it; the partner signs
in, finds it in its workspace, accepts it and records the help delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from doudi.db.engine import session_scope
from tests.charity.builders import consent, world
from tests.factories import PASSWORD, TOWN_A, make_user
from tests.live import login, serve, wait_text

pytestmark = pytest.mark.browser


def test_need_match_accept_deliver(fresh_database, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        w = world(s)
        consent(s, w.worker, w.a)
        make_user(s, "xinan_charity", ["township_caseworker"], TOWN_A, full_name="新安经办")
        make_user(s, "care_partner", ["partner"], "370784", org="town_care", full_name="机构联络")
        household = w.a.id

    with serve(fresh_database.url, tmp_path / "var") as base:
        login(page, base, "xinan_charity", PASSWORD)
        page.goto(f"{base}/charity/needs/new?household_id={household}")
        page.select_option("#need-form select[name=kind]", "cash")
        page.fill("#need-form input[name=amount]", "3000")
        page.fill("#need-form textarea[name=description]", "住院自付费用临时救助后仍有缺口")
        page.click("#need-form button")
        page.wait_for_url("**/charity/needs/*")
        need_url = page.url
        page.click("#propose")
        wait_text(page, "#need-status", "已推荐")
        assert "机构town_care" in page.inner_text("#matches")  # the township's own partner is nearest
        page.click("#matches button[value=confirm]")
        wait_text(page, "#need-status", "已推送机构")
        page.context.clear_cookies()

        login(page, base, "care_partner", PASSWORD)
        page.goto(f"{base}/charity/workspace")
        row = page.inner_text("#workspace-matched")
        assert "张三" in row and "13912345678" not in row  # the phone is masked
        page.goto(need_url)
        page.click("#accept")
        wait_text(page, "#need-status", "机构已承接")
        page.fill("#deliver-result", "已资助 3000 元")
        page.fill("#deliver-amount", "3000")
        page.click("#deliver")
        wait_text(page, "#need-status", "已帮扶")
        assert "3000.00 元" in page.inner_text("#need-result")
