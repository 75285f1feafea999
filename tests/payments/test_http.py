"""The payment API and console pages through the real app: scoping, masking, approval, Excel, inbox, errors."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from doudi.payments import service
from tests.factories import PASSWORD, VILLAGE_A1, make_household, make_user
from tests.payments.world import COUNTY, account, enroll, make_staff


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/").text)
    assert csrf is not None
    return csrf.group(1)


def _world(db: Session) -> int:
    make_staff(db)
    hh = make_household(db, VILLAGE_A1, head_name="=HYPERLINK(1)")
    account(db, f"H{hh.id}", "6230123456789012")
    enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
    return hh.id


def test_api_generate_approve_and_masked_lines(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    maker, checker = _token(client, "pay_maker"), _token(client, "pay_checker")
    r = client.post("/api/v1/payments/rolls", json={"area_code": COUNTY, "month": "2026-01", "program": "dibao"},
                    headers=maker)
    assert r.status_code == 201 and r.json()["total"] == "537.00" and r.json()["line_count"] == 1
    roll_id, version = r.json()["id"], r.json()["version"]
    bad = client.post("/api/v1/payments/rolls", json={"area_code": COUNTY, "month": "2026-13", "program": "dibao"},
                      headers=maker)
    assert bad.status_code in {400, 422} and "月份" in bad.text
    own = client.post(f"/api/v1/payments/rolls/{roll_id}/approve", json={"version": version}, headers=maker)
    assert own.status_code == 409 and "制单人不能审核" in own.text
    ok = client.post(f"/api/v1/payments/rolls/{roll_id}/approve", json={"version": version}, headers=checker)
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    again = client.post(f"/api/v1/payments/rolls/{roll_id}/approve", json={"version": version}, headers=checker)
    assert again.status_code == 409
    detail = client.get(f"/api/v1/payments/rolls/{roll_id}", headers=checker).json()
    line = detail["lines"][0]
    assert line["account_no"] == "6230********9012" and "*" in line["id_number"]
    f = client.post(f"/api/v1/payments/rolls/{roll_id}/bank-file?format=pain001", headers=checker)
    assert f.status_code == 200 and b"<CtrlSum>537.00</CtrlSum>" in f.content
    assert b"6230123456789012" in f.content  # the bank file is the one place the full account appears


def test_pages_list_detail_inbox_excel(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    r = service.generate_roll(db, actor=make_staff.__globals__["auth"].actor_for(
        make_user(db, "pay_maker2", ["county_officer"], COUNTY)), county=COUNTY, month=date(2026, 1, 1),
        program="dibao")
    _login(client, "pay_checker")
    listing = client.get("/payments/rolls?month=2026-01&program=dibao")
    assert listing.status_code == 200 and f'/payments/rolls/{r.id}"' in listing.text and "待审核" in listing.text
    assert "无花名册" in client.get("/payments/rolls?month=2025-01").text
    assert "月份格式" in client.get("/payments/rolls?month=xx").text
    page = client.get(f"/payments/rolls/{r.id}")
    assert "6230********9012" in page.text and "6230123456789012" not in page.text
    assert "审核通过" in page.text
    inbox = client.get("/inbox")
    assert f"/payments/rolls/{r.id}" in inbox.text and "花名册待审核" in inbox.text
    xlsx = client.get(f"/payments/rolls/{r.id}/export.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "'=HYPERLINK(1)" in values and "6230********9012" in values and 537 in values
    assert client.get("/payments/rolls/999999").status_code == 404
    household = client.get(f"/households/{r_household(db, r.id)}")
    assert "资金发放记录" in household.text and "6230********9012" in household.text


def test_township_sees_county_roll_but_not_other_county(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    r = service.generate_roll(db, actor=make_staff.__globals__["auth"].actor_for(
        make_user(db, "pay_maker3", ["county_officer"], COUNTY)), county=COUNTY, month=date(2026, 1, 1),
        program="dibao")
    make_user(db, "js_pay", ["county_officer"], "440781")
    assert client.get(f"/api/v1/payments/rolls/{r.id}", headers=_token(client, "pay_worker")).status_code == 200
    assert client.get(f"/api/v1/payments/rolls/{r.id}", headers=_token(client, "js_pay")).status_code == 404


def test_reserve_page_allot_and_refusal(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_staff(db)
    csrf = _login(client, "pay_checker")
    ok = client.post("/payments/reserve", data={"csrf_token": csrf, "township": "370784001", "kind": "allot",
                                                "amount": "2000.00", "note": "年初拨付"}, follow_redirects=True)
    assert ok.status_code == 200 and "2000.00" in ok.text and "年初拨付" in ok.text
    bad = client.post("/payments/reserve", data={"csrf_token": csrf, "township": "370784001", "kind": "spend",
                                                 "amount": "50", "case_id": ""})
    assert bad.status_code == 422 and "须关联临时救助案件" in bad.text
    junk = client.post("/payments/reserve", data={"csrf_token": csrf, "township": "370784001", "kind": "allot",
                                                  "amount": "十元"})
    assert junk.status_code == 422 and "金额或案件编号格式不正确" in junk.text


def r_household(db: Session, roll_id: int) -> int:
    """The household paid on a roll's first line."""
    from sqlalchemy import select

    from doudi.payments.models import PaymentLine

    hid = db.scalar(select(PaymentLine.household_id).where(PaymentLine.roll_id == roll_id).limit(1))
    assert hid is not None
    return int(hid)
