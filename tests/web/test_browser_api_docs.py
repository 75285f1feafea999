"""Headless Chromium: the API documentation renders without internet, from our own static files."""

from __future__ import annotations

import pytest

from tests.live import serve

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_offline(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/api/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "doudi" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock").count() > 20  # the operations are listed
    assert outside == []


def test_workbench_charts_draw_under_the_csp(fresh_database, tmp_path, page) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from doudi.db.engine import session_scope
    from tests.cases.world import apply, make_world, member
    from tests.factories import PASSWORD
    from tests.web.test_dashboard_charts import _id

    with session_scope(fresh_database.engine) as s:
        staff = make_world(s)
        apply(s, staff.worker, on=date(2026, 9, 29), members=[member("画图", _id(204), "head", "100")])
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serve(fresh_database.url, tmp_path / "var") as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "worker1")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.wait_for_selector("#chart-caseload .chart[data-drawn] canvas")
        assert page.locator("#chart-overdue .chart[data-drawn] canvas").count() == 1
    assert errors == []  # nothing refused by the Content-Security-Policy
