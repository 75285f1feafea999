"""Funds report (hand-computed changes between two months), the roll's signed summary as PDF, and the audited
unmask of an account, through the real app."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.payments import report, service
from doudi.payments.models import PaymentLine
from tests.factories import VILLAGE_A1, VILLAGE_B1, make_household
from tests.payments.test_http import _login
from tests.payments.world import COUNTY, account, change, enroll, make_staff

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def test_funds_changes_by_hand() -> None:
    # Township 370784001: A paid both months (500 → 600: changed), B only January (stopped), C only February (new).
    # Township 370784002: D paid 300 in both months (unchanged); a care line and a basic line of E sum to one payee.
    lines = pl.DataFrame({
        "program": ["dibao"] * 5 + ["extreme_poverty"] * 2,
        "area_code": ["370784001001"] * 4 + ["370784002001"] * 3,
        "payee_key": ["HA", "HA", "HB", "HC", "HD", "PE", "PE"],
        "entitlement_month": [JAN, FEB, JAN, FEB, FEB, FEB, FEB],
        "amount_fen": [50000, 60000, 40000, 70000, 30000, 70000, 50000],
    }).vstack(pl.DataFrame({"program": ["dibao"], "area_code": ["370784002001"], "payee_key": ["HD"],
                            "entitlement_month": [JAN], "amount_fen": [30000]}))
    got = report.funds_changes(lines, FEB)
    assert got.rows() == [
        # program, township, recipients, amount, new, stopped, changed, prev recipients, prev amount
        ("dibao", "370784001", 2, 60000 + 70000, 1, 1, 1, 2, 50000 + 40000),
        ("dibao", "370784002", 1, 30000, 0, 0, 0, 1, 30000),
        ("extreme_poverty", "370784002", 1, 70000 + 50000, 1, 0, 0, 0, 0),
    ]


def _roll_world(db: Session) -> tuple[int, int]:
    make_staff(db)
    a = make_household(db, VILLAGE_A1, head_name="甲户")
    b = make_household(db, VILLAGE_B1, head_name="乙户")
    account(db, f"H{a.id}", "6230123456789012")
    account(db, f"H{b.id}", "6230000011112222", area=VILLAGE_B1)
    ea = enroll(db, program="dibao", amount="600.00", start=JAN, household=a)
    change(db, ea, kind="increase", month=FEB, old="500.00", new="600.00")
    enroll(db, program="dibao", amount="537.00", start=JAN, household=b, end=FEB, status="terminated")
    return a.id, b.id


def test_funds_page_excel_and_dashboard(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _roll_world(db)
    from doudi.auth import service as auth
    from doudi.auth.models import User

    maker = auth.actor_for(db.scalars(select(User).where(User.username == "pay_maker")).one())
    service.generate_roll(db, actor=maker, county=COUNTY, month=JAN, program="dibao")
    service.generate_roll(db, actor=maker, county=COUNTY, month=FEB, program="dibao")
    db.commit()
    _login(client, "pay_checker")
    page = client.get("/payments/funds?month=2026-02&program=dibao")
    assert page.status_code == 200 and "data-echarts=" in page.text and "<script>" not in page.text
    # February: A paid 600 (January 500: changed, reason 增发); B stopped (terminated from February).
    assert 'id="funds-recipients">1<' in page.text and 'id="funds-amount">600.00<' in page.text
    assert "增发 1" in page.text
    x = client.get("/payments/funds.xlsx?month=2026-02&program=dibao")
    ws = load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
    cells = [tuple(row) for row in ws.iter_rows(values_only=True)]
    assert cells[1][:3] == ("项目", "乡镇", "发放对象")
    # Per township (recipients, yuan, new, stopped, changed, last month's recipients and yuan): A's township
    # 1, 600, 0, 0, 1, 1, 500; B's township 0, 0, 0, 1, 0, 1, 537.
    assert sorted(r[2:9] for r in cells[2:]) == [(0, 0, 0, 1, 0, 1, 537), (1, 600, 0, 0, 1, 1, 500)]
    bad = client.get("/payments/funds?month=2026-13")
    assert bad.status_code == 422 and "月份格式" in bad.text


def test_summary_pdf_and_audited_unmask(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _roll_world(db)
    from doudi.auth import service as auth
    from doudi.auth.models import User

    maker = auth.actor_for(db.scalars(select(User).where(User.username == "pay_maker")).one())
    roll = service.generate_roll(db, actor=maker, county=COUNTY, month=JAN, program="dibao")
    db.commit()
    csrf = _login(client, "pay_checker")
    pdf = client.get(f"/payments/rolls/{roll.id}/summary.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    s = service.get_roll(db, actor=maker, roll_id=roll.id)
    assert (s.line_count, s.total_fen) == (2, 50000 + 53700)
    line = db.scalars(select(PaymentLine).where(PaymentLine.roll_id == roll.id, PaymentLine.account_no
                                                == "6230123456789012")).one()
    page = client.get(f"/payments/rolls/{roll.id}")
    assert "6230123456789012" not in page.text and "6230********9012" in page.text
    no_reason = client.post(f"/payments/lines/{line.id}/unmask", headers={"X-CSRF-Token": csrf}, data={"reason": ""})
    assert no_reason.status_code == 422 and "说明用途" in no_reason.text
    ok = client.post(f"/payments/lines/{line.id}/unmask", headers={"X-CSRF-Token": csrf}, data={"reason": "银行查询"})
    assert ok.status_code == 200 and "6230123456789012" in ok.text
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "payee_account.unmask")).one()
    assert entry.object_id == str(line.id) and "银行查询" in str(entry.changes)
    # A township approver reads payments but may not unmask: refused, nothing revealed, nothing audited.
    client.cookies.clear()
    csrf2 = _login(client, "pay_worker2")
    refused = client.post(f"/payments/lines/{line.id}/unmask", headers={"X-CSRF-Token": csrf2},
                          data={"reason": "查看"})
    assert refused.status_code == 403 and "6230123456789012" not in refused.text
