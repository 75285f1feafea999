"""Headless Chromium: a township worker opens the ledger, sees the chart, filters, opens a warning with its
reason, and disposes of it; another township's warning is not on the page."""

from __future__ import annotations

from pathlib import Path

import pytest

from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from tests.factories import PASSWORD, TOWN_A, make_user
from tests.live import serve, wait_present, wait_text
from tests.monitoring.builders import ON, county, death_feed

pytestmark = pytest.mark.browser


def test_township_worker_disposes_a_warning(fresh_database, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        c = county(s)
        head = c.a.members[0].person
        death_feed(s, tmp_path, [(head.id_number, head.name, "2026-11-10")])
        run(s, actor=system_actor(name="test"), on=ON, area="370784")
        make_user(s, "xinan_mon", ["township_caseworker"], TOWN_A, full_name="新安经办")
        s.flush()
        death = s.query(MonitorWarning).filter_by(rule_key="death").one()
        death_id, head_name = death.id, head.name

    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "xinan_mon")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/monitoring")
        table = page.inner_text("#warnings")
        assert head_name in table and "李长顺" not in table  # township B's review is not ours
        wait_present(page, "#chart-rule canvas")  # ECharts drew, offline
        page.select_option("select[name=rule]", "death")
        page.click("#ledger-filters button")
        page.wait_for_url("**rule=death**")
        assert "唯一有能力" not in page.inner_text("#warnings")
        page.click(f"a[href='/monitoring/{death_id}']")
        page.wait_for_url(f"{base}/monitoring/{death_id}")
        assert "2026-11-10" in page.inner_text("#warning-reason")
        page.fill("#verify-form input[name=note]", "已入户核实，火化证明属实")
        page.click("#verify-form button")
        wait_text(page, "#warning-status", "核实中")
        page.select_option("#dispose-form select[name=disposition]", "suspend")
        page.fill("#dispose-form input[name=note]", "暂停发放，待重新核定家庭其余成员")
        page.click("#dispose-form button")
        wait_text(page, "#warning-status", "已处置")
        assert "暂停发放待核实" in page.inner_text("#warning-disposition")
