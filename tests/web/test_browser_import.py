"""Headless Chromium, the administrator's import (导入台账, issue 15 item 12): download the households template,
preview a file (nothing written; the bad rows listed with row, field and reason), import it, and download the
quarantined rows as Excel. Screenshots on failure."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from doudi.db.engine import session_scope
from doudi.registry.models import Household, Person
from tests.factories import PASSWORD, make_areas, make_user
from tests.live import login, serve, wait_text
from tests.registry.helpers import family, row, write_csv

pytestmark = pytest.mark.browser


def _counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return (s.scalar(select(func.count()).select_from(Household)) or 0,
                s.scalar(select(func.count()).select_from(Person)) or 0)


def test_admin_previews_imports_and_downloads_rejects(fresh_database, tmp_path: Path, page) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        make_areas(s)
        make_user(s, "admin1", ["admin"], "370784")
    bad_id = row("H2", "head", "钱有福", date(1958, 7, 7), "M", 41)
    bad_id["id_number"] = bad_id["id_number"][:-1] + ("0" if bad_id["id_number"][-1] != "0" else "1")  # checksum
    rows = [*family("H1"),  # lines 2–4: a couple and their son
            bad_id,  # line 5: wrong check character
            row("H3", "head", "孔繁荣", date(1962, 1, 9), "F", 42, birth_date="1962-02-30")]  # line 6: no such day
    upload = write_csv(tmp_path / "安丘家庭档案.csv", rows)

    with serve(fresh_database.url, tmp_path / "var") as base:
        login(page, base, "admin1", PASSWORD)
        page.click("nav.side >> text=导入台账")
        with page.expect_download() as template:
            page.click("a[href='/imports/templates/households.xlsx']")
        headers = next(load_workbook(io.BytesIO(template.value.path().read_bytes())).active.iter_rows(
            max_row=1, values_only=True))
        assert "户编号" in headers and "身份证号" in headers  # Chinese headers
        page.click("nav.tabs >> text=家庭档案")
        page.wait_for_url(f"{base}/imports/households")
        assert "文件不超过 50 MB" in page.inner_text("main")  # the console's one upload cap (core.uploads)

        page.set_input_files("input[type=file][name=file]", str(upload))
        page.click("button:has-text('预览（不写入）')")
        wait_text(page, "#import-result", "预览结果")
        # 5 data rows: 3 good (H1), 2 quarantined (H2's ID, H3's birth date).
        assert "共 5 行，可导入 3 行，隔离 2 行" in page.inner_text("#import-result")
        lines = [r.split("\t")[0] for r in page.inner_text("#rejects tbody").splitlines()]
        assert lines == ["5", "6"]
        assert page.locator("#rejects-xlsx").count() == 0  # a preview keeps no batch to download
        assert _counts(fresh_database.engine) == (0, 0)  # nothing written

        page.set_input_files("input[type=file][name=file]", str(upload))
        page.click("form[enctype] button.primary")
        wait_text(page, "#import-result h2", "导入结果", exact=True)
        assert "共 5 行，导入 3 行，隔离 2 行" in page.inner_text("#import-result")
        assert _counts(fresh_database.engine) == (1, 3)  # H1 and its three members
        with page.expect_download() as rejects:
            page.click("#rejects-xlsx")
        sheet = load_workbook(io.BytesIO(rejects.value.path().read_bytes())).active
        numbered = [r for r in sheet.iter_rows(values_only=True) if r and isinstance(r[0], int)]
        assert [r[0] for r in numbered] == [5, 6] and all(r[2] for r in numbered)  # each with its reason
