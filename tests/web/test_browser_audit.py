"""Headless Chromium: an auditor searches with empty date boxes, pages on and exports Excel (issue 15 item 3);
a malformed date in the address is a 422 naming the field."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.db.engine import session_scope
from tests.factories import PASSWORD, TOWN_A, make_areas, make_user
from tests.live import serve

pytestmark = pytest.mark.browser


def test_auditor_searches_pages_and_exports(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_areas(s)
        make_user(s, "auditor1", ["auditor"], "370784")
        worker = Actor(username="探针经办", area_code=TOWN_A)
        for i in range(60):  # more than one page of 50
            audit.record(s, actor=worker, action="case.view", object_type="case", object_id=i, area_code=TOWN_A)

    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "auditor1")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/audit")
        page.fill("input[name=who]", "探针经办")
        page.click("form.filters button")  # 查询, with both date boxes empty
        page.wait_for_url("**/audit?who=*")
        assert page.locator("#audit-table tbody tr").count() == 50
        assert "共 60 条" in page.inner_text("nav.pager")
        page.click("nav.pager a[rel=next]")
        page.wait_for_url("**page=2")
        assert page.locator("#audit-table tbody tr").count() == 10
        with page.expect_download() as info:
            page.click("text=导出 Excel")
        ws = load_workbook(io.BytesIO(info.value.path().read_bytes())).active
        assert ws.max_row == 61  # the header and the 60 entries of the search
        bad = page.goto(f"{base}/audit?date_from=2026-13-45")
        assert bad is not None and bad.status == 422
        assert "起始日期应为日期" in page.content()
