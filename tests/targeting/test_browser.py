"""Headless Chromium: a county officer opens 核对成效, the charts are drawn from their data attributes (no inline
script, ECharts served locally), the township filter narrows the report, and the table shows the hand-checked row."""

from __future__ import annotations

from pathlib import Path

import pytest

from doudi.db.engine import session_scope
from tests.conftest import Database
from tests.factories import PASSWORD, TOWN_B, make_user
from tests.live import serve, wait_present
from tests.targeting.conftest import build_county

pytestmark = pytest.mark.browser


def test_officer_reads_the_report(fresh_database: Database, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        build_county(s)
        make_user(s, "county_eff", ["county_officer"], "370784")
    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "county_eff")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/targeting/effect?start=2026-06-01&end=2026-08-31")
        wait_present(page, "#chart-changes canvas")
        assert page.inner_text("#total-requests") == "4"
        # 景芝镇 2026-06: 丁's review turned a refusal into 37 元 a month (537 − 500).
        table = page.inner_text("#table-1")
        assert "景芝镇\t2026-06\t最低生活保障" in table
        page.select_option("select[name=township]", TOWN_B)  # data-autosubmit
        page.wait_for_url(f"**township={TOWN_B}**")
        assert page.inner_text("#total-requests") == "1"
