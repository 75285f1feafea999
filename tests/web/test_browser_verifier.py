"""Headless Chromium, the verifier's main job (issue 15 item 12): upload an agency feed on 部门数据, read the batch
(counts, exact-ID matches, the quarantined row with its field), open the case's 核对报告 with the income the feed
revealed, download it as Excel, and record the 核对 conclusion on the case. Screenshots on failure."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from doudi.cases import steps
from doudi.core import clock
from doudi.core.dates import shift_months
from doudi.core.ids import build_id_number
from doudi.db.engine import session_scope
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD
from tests.live import login, serve, wait_text

pytestmark = pytest.mark.browser


def test_verifier_feeds_reports_and_concludes(fresh_database, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    today = clock.today()  # the live server decides "today" itself: the case and the feed follow it
    head = build_id_number("370784", date(1972, 6, 1), 711, "M")
    with session_scope(fresh_database.engine) as s:
        staff = make_world(s)
        case = apply(s, staff.worker, on=today, members=[member("邹德明", head, "head", "0")])
        for key, data in [("investigation_start", {}),
                          ("home_visit", {"investigators": ["甲", "乙"], "findings": "无固定收入"})]:
            steps.act(s, actor=staff.worker, case_id=case.id, step_key=key, action="complete", data=data,
                      version=case.version, today=today)
        case_id = case.id
    # Two wage months inside the request's period (the 12 whole months before today, 安丘 via the national
    # pack) and a third row with an impossible month.
    last, before = shift_months(today.replace(day=1), -1), shift_months(today.replace(day=1), -2)
    feed = tmp_path / "tax-2026.csv"
    feed.write_text("record_id,id_number,name,sex,month,income_kind,amount,payer\n"
                    f"t1,{head},邹德明,M,{last:%Y-%m},wage,1800.00,安丘某建筑公司\n"
                    f"t2,{head},邹德明,M,{before:%Y-%m},wage,1800.00,安丘某建筑公司\n"
                    f"t3,{head},邹德明,M,2026-13,wage,1800.00,安丘某建筑公司\n", encoding="utf-8")

    with serve(fresh_database.url, tmp_path / "var") as base:
        login(page, base, "verifier1", PASSWORD)
        page.click("nav.side >> text=部门数据")
        page.select_option("select[name=source_key]", "tax")
        page.set_input_files("input[type=file][name=file]", str(feed))
        page.click("form[action='/verification/batches'] button")
        wait_text(page, "#rejects", "所属期")
        facts = page.inner_text("dl.facts")
        assert "共 3 行，接收 2，隔离 1" in facts and "身份证号精确匹配 2 行" in facts and "370784" in facts
        rejected = page.inner_text("#rejects tbody tr")
        assert rejected.startswith("3\t4\t所属期")  # the third record, on the file's fourth line
        assert head not in page.content()  # the raw row shows the ID number masked

        page.goto(f"{base}/cases/{case_id}")
        assert "信息核对" in page.inner_text("#active-step h2")
        page.click("#active-step a:has-text('查看核对报告')")
        page.wait_for_selector("#income-compare")
        assert "收到提请后 3 个工作日内" in page.inner_text("dl.facts")  # the pack's verification_start_workdays
        # Declared wage 0; verified (1,800 + 1,800) / 12 months = 300.00 a month, a difference of 300.00.
        compare = page.inner_text("#income-compare")
        assert "邹德明" in compare and "300.00" in compare
        assert "收入" in page.inner_text("#discrepancies") and "无差异" not in page.inner_text("#discrepancies")
        with page.expect_download() as info:
            page.click("text=下载 Excel")
        book = load_workbook(io.BytesIO(info.value.path().read_bytes()))
        rows = [r for r in book["收入比对"].iter_rows(values_only=True) if r and r[0] == "邹德明"]
        assert len(rows) == 1 and rows[0][3] == 0 and rows[0][4] == 300 and rows[0][6] == "是"

        page.goto(f"{base}/cases/{case_id}")
        page.select_option("#active-step select[name=conclusion]", "discrepancy")
        page.fill("#active-step input[name=note]", "税务数据显示有工资收入，需说明")
        page.click("#active-step button.primary")
        wait_text(page, "#active-step h2", "初审")
        assert "存在差异" in page.inner_text("#steps")
