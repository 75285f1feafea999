"""The console import page: template, dry-run preview (nothing written), commit, quarantine as Excel, scope."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.registry.importer import import_households
from doudi.registry.models import Household, IncomeFact
from tests.factories import PASSWORD, TOWN_A, VILLAGE_B1, make_areas, make_user
from tests.registry.helpers import family, pid, row, write_csv

HEAD = pid(date(1970, 5, 1), 11, "M")


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return found.group(1)


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    token = _find(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return _find(r'data-csrf="([^"]+)"', client.get("/").text)


def test_preview_then_import_with_quarantine_report(client, db: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    rows = [*family("H1"), row("H2", "head", "孙强", date(1960, 1, 1), "M", 31, area_code=VILLAGE_B1)]
    import_households(db, actor=system_actor(), path=write_csv(tmp_path / "h.csv", rows))
    make_user(db, "worker", ["township_caseworker"], TOWN_A)
    db.commit()
    csrf = _login(client, "worker")
    template = client.get("/imports/templates/income.xlsx")
    headers = [c.value for c in next(load_workbook(io.BytesIO(template.content)).active.iter_rows(max_row=1))]
    assert template.status_code == 200 and headers[:3] == ["户编号", "类别", "金额"]
    body = ("户编号,身份证号,类别,月份,金额\n"
            f"H1,{HEAD},wage,2026-10,1000\n"
            f"H2,{pid(date(1960, 1, 1), 31, 'M')},wage,2026-10,900\n"   # row 3: H2 lies outside town A
            f"H1,{HEAD},wage,2026-13,1000\n").encode()                    # row 4: bad month
    files = {"file": ("income.csv", body, "text/csv")}
    shown = client.post("/imports/income?dry_run=1", data={"csrf_token": csrf}, files=files)
    assert shown.status_code == 200 and "预览结果（未写入）" in shown.text
    assert "共 3 行，可导入 1 行，隔离 2 行" in shown.text and "月份 2026-13 无效" in shown.text
    assert db.scalar(select(func.count()).select_from(IncomeFact)) == 0
    done = client.post("/imports/income", data={"csrf_token": csrf}, files=files)
    assert done.status_code == 200 and "户编号 H2 不在家庭档案中（或不在您的管辖范围内）" in done.text
    assert db.scalar(select(func.count()).select_from(IncomeFact)) == 1
    link = _find(r'href="(/imports/batches/\d+/rejects\.xlsx)"', done.text)
    sheet = load_workbook(io.BytesIO(client.get(link).content)).active
    values = [[c for c in r] for r in sheet.iter_rows(values_only=True) if any(r)]
    assert [v[:2] for v in values[-2:]] == [[3, "household_no"], [4, "month"]]
    # The members came without 入户日期: the household page says they count from before the import.
    h1 = db.scalar(select(Household.id).where(Household.household_no == "H1"))
    assert client.get(f"/households/{h1}").text.count("导入前（日期不详）") == 3
    bad = client.post("/imports/income", data={"csrf_token": csrf}, files={"file": ("x.doc", b"x", "text/plain")})
    assert bad.status_code == 422 and "只接受 CSV、XLSX 或 Parquet 文件" in bad.text


def test_the_old_household_import_address_leads_to_the_import_page(client, db: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "worker", ["township_caseworker"], TOWN_A)
    db.commit()
    csrf = _login(client, "worker")
    moved = client.get("/households/import", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/imports/households"
    # A form still posting to the old address is carried over with its upload (308 keeps method and body).
    body = write_csv(tmp_path / "h.csv", family("H7")).read_bytes()
    done = client.post("/households/import", data={"csrf_token": csrf},
                       files={"file": ("h.csv", body, "text/csv")})
    assert done.status_code == 200 and ">导入档案<" not in client.get("/").text  # the old menu entry is gone
    assert db.scalar(select(func.count()).select_from(Household).where(Household.household_no == "H7")) == 1
