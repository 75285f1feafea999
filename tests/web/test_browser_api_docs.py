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
