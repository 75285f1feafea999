"""Group insurance paid by the fund: the list from active 低保/特困 enrollments, the premium through maker-checker,
full ID numbers only in the insurer's file (masked on pages and in the other export), claims; and the public
transparency report (no login, no personal data)."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.cases.models import Enrollment
from doudi.charity.fund import insurance, report, service
from doudi.charity.fund.models import PolicyStatus
from doudi.core.errors import Conflict, PermissionDenied, ValidationFailed
from doudi.core.masking import mask_id
from tests.charity.test_fund import COUNTY, DAY, give, make_staff
from tests.factories import PASSWORD, VILLAGE_A1, VILLAGE_B1, make_household


def _cells(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]


def _insured_world(db: Session):  # type: ignore[no-untyped-def]
    s = make_staff(db)
    # a 低保 household of two (both insured), a 特困 person (insured through the personal enrollment), a 低保
    # household whose enrollment ended (not insured)
    dibao = make_household(db, VILLAGE_A1, head_name="赵一", members=[("赵二", "spouse", date(1972, 1, 1), "F")])
    tekun = make_household(db, VILLAGE_B1, head_name="钱三")
    ended = make_household(db, VILLAGE_A1, head_name="孙四")
    for hh, program, person, status in [(dibao, "dibao", None, "active"),
                                        (tekun, "extreme_poverty", tekun.members[0].person_id, "active"),
                                        (ended, "dibao", None, "terminated")]:
        db.add(Enrollment(household_id=hh.id, person_id=person, area_code=hh.area_code, program=program,
                          status=status, monthly_amount=Decimal("500"), start_month=date(2025, 1, 1), version=1))
    db.flush()
    return s, dibao, tekun


def test_policy_enrolment_premium_and_masking(db: Session) -> None:
    s, dibao, tekun = _insured_world(db)
    give(db, s.maker, "R-INS", 20_000, "insurance", True)  # 200.00 restricted to insurance
    p = insurance.create_policy(db, actor=s.maker, county=COUNTY, policy_no="BX-2026", insurer="某保险公司",
                                start_on=date(2026, 1, 1), end_on=date(2026, 12, 31))
    assert p.premium_fen == 10_000  # the pack's provisional 100 元 per person
    assert insurance.enrol(db, actor=s.maker, policy_id=p.id, version=p.version, on=DAY) == 3  # 赵一, 赵二, 钱三
    assert insurance.enrol(db, actor=s.maker, policy_id=p.id, version=None, on=DAY) == 0  # nobody twice
    # premium 3 × 100.00 = 300.00 > 200.00 of insurance money: refused from that pool
    with pytest.raises(Conflict, match=r"可用 200\.00 元，不足拨付 300\.00 元"):
        insurance.request_premium(db, actor=s.maker, policy_id=p.id)
    give(db, s.maker, "R-GEN", 50_000, "general", False)
    g = insurance.request_premium(db, actor=s.maker, policy_id=p.id, pool="general")
    assert g.amount_fen == 30_000 and g.purpose == "insurance"
    with pytest.raises(Conflict, match="已提交拨付"):
        insurance.request_premium(db, actor=s.maker, policy_id=p.id, pool="general")
    service.decide_grant(db, actor=s.checker, grant_id=g.id, version=g.version, approve=True, today=DAY)
    assert insurance.get_policy(db, actor=s.checker, policy_id=p.id).status == PolicyStatus.PAID
    # general 50,000 − 30,000 = 20,000; insurance untouched 20,000
    assert service.pool_balance(db, county=COUNTY, pool="general")[1] == 20_000
    assert service.pool_balance(db, county=COUNTY, pool="insurance")[1] == 20_000
    numbers = {m.person.id_number for hh in (dibao, tekun) for m in hh.members}
    # the insurer's file: full ID numbers (its own permission, audited)
    with pytest.raises(PermissionDenied):
        insurance.insurer_file(db, actor=s.checker, policy_id=p.id)
    cells = _cells(insurance.insurer_file(db, actor=s.maker, policy_id=p.id))
    assert numbers <= set(cells)
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "fund.insurer_file")) is not None
    # the other export masks them
    from doudi.charity.fund import export

    masked = _cells(export.members(db, actor=s.checker, policy_id=p.id))
    assert not numbers & set(masked) and {mask_id(n) for n in numbers} <= set(masked)
    member = db.execute(insurance.members_query(s.maker, p.id)).first()
    assert member is not None
    c = insurance.record_claim(db, actor=s.maker, member_id=member.id, claim_no="LP-1", incident_on=DAY, kind="住院",
                               claimed_fen=100_000)
    with pytest.raises(ValidationFailed):
        insurance.answer_claim(db, actor=s.maker, claim_id=c.id, version=c.version, paid_fen=100_001)
    assert insurance.answer_claim(db, actor=s.maker, claim_id=c.id, version=c.version, paid_fen=60_000).status == "paid"


def test_transparency_report_totals_without_personal_data(db: Session) -> None:
    s = make_staff(db)
    hh = make_household(db, VILLAGE_A1, head_name="周五")
    give(db, s.maker, "R-A", 100_000, "general", False, on=date(2026, 2, 3))
    give(db, s.maker, "R-B", 40_000, "accessibility", True, on=date(2026, 2, 20))
    give(db, s.maker, "R-C", 10_000, "accessibility", True, on=date(2025, 12, 1))  # last year: balance only
    g = service.make_grant(db, actor=s.maker, amount_fen=35_000, purpose="accessibility", pool="accessibility",
                           reason="周五家坡道", household_id=hh.id)
    service.decide_grant(db, actor=s.checker, grant_id=g.id, version=g.version, approve=True, today=date(2026, 3, 5))
    r = report.transparency(db, county=COUNTY, year=2026)
    rows = [(f"{m:%Y-%m}", p, d, i, n, o) for m, p, d, i, n, o in r.rows.iter_rows()]
    assert rows == [("2026-02", "accessibility", 1, 40_000, 0, 0), ("2026-02", "general", 1, 100_000, 0, 0),
                    ("2026-03", "accessibility", 0, 0, 1, 35_000)]
    # accessibility: in 40,000 this year, out 35,000, balance 10,000 + 40,000 − 35,000 = 15,000
    assert r.by_purpose.rows() == [("accessibility", 40_000, 35_000, 15_000), ("general", 100_000, 0, 100_000)]
    text = "\n".join(report.lines(r)) + "".join(_cells(report.to_xlsx(r)))
    for personal in ("周五", "爱心企业", "R-A", hh.members[0].person.id_number, "坡道"):
        assert personal not in text


def test_public_page_and_export_need_no_login(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    s = make_staff(db)
    give(db, s.maker, "R-PUB", 123_400, "medical", True, on=date(2026, 2, 3))
    db.commit()
    page = client.get(f"/public/charity-fund?area={COUNTY}&year=2026")
    assert page.status_code == 200 and "1234.00" in page.text and "爱心企业" not in page.text
    x = client.get(f"/public/charity-fund.xlsx?area={COUNTY}&year=2026")
    assert x.status_code == 200
    values = [c for ws in load_workbook(io.BytesIO(x.content)).worksheets for r in ws.iter_rows(values_only=True)
              for c in r]
    assert 1234.0 in values and not any("爱心企业" in str(v) or "R-PUB" in str(v) for v in values)
    assert client.get("/public/charity-fund?area=abc").status_code == 422
    # the console needs a login
    assert client.get("/charity/fund", follow_redirects=False).status_code in (302, 303, 401)


def test_console_pages_and_exports(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    s = make_staff(db)
    hh = make_household(db, VILLAGE_A1, head_name="吴六")
    give(db, s.maker, "R-P1", 100_000, "general", False)
    db.commit()
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "fund_maker", "password": PASSWORD, "csrf_token": token})
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    r = client.post("/charity/fund/grants", data={"csrf_token": csrf, "amount": "250.5", "purpose": "one_off_aid",
                                                  "pool": "general", "reason": "急难", "household_id": str(hh.id)},
                    follow_redirects=False)
    assert r.status_code == 303
    bad = client.post("/charity/fund/grants", data={"csrf_token": csrf, "amount": "12.345", "purpose": "one_off_aid",
                                                    "pool": "general", "reason": "急难", "household_id": str(hh.id)})
    assert bad.status_code == 422 and "拨付金额" in bad.text
    dup = client.post("/charity/fund/donations", data={
        "csrf_token": csrf, "area_code": COUNTY, "receipt_no": "R-P1", "donor_name": "某人", "amount": "1",
        "purpose": "general", "received_on": "2026-03-01"})
    assert dup.status_code == 409 and "已登记过" in dup.text
    grants = client.get("/charity/fund/grants?status=pending")
    assert grants.status_code == 200 and "250.50" in grants.text
    assert "本人提交的拨付须由另一位审批人审批" in client.get(r.headers["location"]).text
    for path in ("/charity/fund", "/charity/fund/donations", "/charity/fund/movements", "/charity/fund/policies"):
        assert client.get(path).status_code == 200, path
    for path in ("/charity/fund/donations/export.xlsx", "/charity/fund/grants/export.xlsx",
                 "/charity/fund/movements/export.xlsx"):
        x = client.get(path)
        assert x.status_code == 200 and x.content.startswith(b"PK"), path
    assert client.get("/charity/fund/donations?month=2026-13").status_code == 422


def test_api_shows_members_masked(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    s, dibao, tekun = _insured_world(db)
    p = insurance.create_policy(db, actor=s.maker, county=COUNTY, policy_no="BX-API", insurer="某保险公司",
                                start_on=date(2026, 1, 1), end_on=date(2026, 12, 31))
    insurance.enrol(db, actor=s.maker, policy_id=p.id, version=p.version, on=DAY)
    db.commit()
    token = client.post("/api/v1/auth/token", data={"username": "fund_checker", "password": PASSWORD}).json()
    r = client.get(f"/api/v1/charity/fund/policies/{p.id}",
                   headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200 and r.json()["members_total"] == 3
    numbers = {m.person.id_number for hh in (dibao, tekun) for m in hh.members}
    assert not any(n in r.text for n in numbers) and all(mask_id(n) in r.text for n in numbers)
