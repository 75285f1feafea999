"""Provider payables: a home-care settlement paid to its provider through a roll, once; and the price subsidy
paid once per person and month even when a person belongs to two recipient groups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.care import service as care
from doudi.care.models import CareSettlement
from doudi.payments import payables, service, subsidy
from doudi.payments.models import LineStatus, PaymentLine, SubsidyShare
from tests.factories import TOWN_A, VILLAGE_A1, make_household
from tests.payments.world import COUNTY, account, enroll, make_staff

MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)


def _settlement(db: Session, provider_id: int, key: str, month: date, minutes: int, fen: int) -> CareSettlement:
    s = CareSettlement(provider_id=provider_id, provider_key=key, area_code=COUNTY, month=month, visits=2,
                       paid_minutes=minutes, unpaid_visits=0, hourly_rate=Decimal("36.50"), amount_fen=fen,
                       created_by="结算员")
    db.add(s)
    db.flush()
    return s


def test_provider_settlement_paid_once_through_a_roll(db: Session) -> None:
    staff = make_staff(db)
    sys = system_actor()
    p = care.create_provider(db, actor=sys, key="ankang_care", name="安康养老服务中心", area_code=COUNTY,
                             contract_no="AQ-2026-01", contract_from=date(2026, 1, 1), contract_to=date(2026, 12, 31),
                             townships=[TOWN_A], services=["meal"], hourly_rate=Decimal("36.50"))
    q = care.create_provider(db, actor=sys, key="empty_care", name="无服务机构", area_code=COUNTY,
                             contract_no="AQ-2026-09", contract_from=date(2026, 1, 1), contract_to=date(2026, 12, 31),
                             townships=[TOWN_A], services=["meal"], hourly_rate=Decimal("30.00"))
    # March: 165 verified minutes × 36.50 元/h = 100.375 → 100.38 元 = 10038 fen; provider Q settled nothing.
    s = _settlement(db, p.id, "ankang_care", MARCH, 165, 10038)
    _settlement(db, q.id, "empty_care", MARCH, 0, 0)
    account(db, payables.payee_key(p.id), "6230555566667777", area=COUNTY, name="安康养老服务中心")
    roll = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=APRIL, program=payables.PROGRAM)
    (line,) = db.scalars(select(PaymentLine).where(PaymentLine.roll_id == roll.id)).all()
    assert (line.payee_key, line.component, line.covers, line.entitlement_month, line.amount_fen) == (
        f"O{p.id}", "provider_payable", "provider_payable", MARCH, 10038)
    assert (line.settlement_id, line.status, line.account_no) == (s.id, LineStatus.PENDING, "6230555566667777")
    assert f"结算单 #{s.id}" in line.rule and "165 分钟" in line.rule and "36.50 元/小时" in line.rule
    assert (roll.line_count, roll.total_fen) == (1, 10038)
    # May's roll does not pay March again; the database refuses a second line for the same settlement.
    may = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=MAY, program=payables.PROGRAM)
    assert (may.line_count, may.total_fen) == (0, 0)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(PaymentLine(roll_id=may.id, payee_key=f"O{p.id}", program="care_provider", component="provider_payable",
                           covers="provider_payable", entitlement_month=APRIL, amount_fen=1, area_code=COUNTY,
                           end_to_end_id="DDX-1", settlement_id=s.id))
        db.flush()


CPI = "地区,月份,发布日期,CPI同比,食品CPI同比\n370700,2022-08,2022-09-09,3.2,5.0\n"


def test_subsidy_once_per_person_across_groups(db: Session) -> None:
    staff = make_staff(db)
    subsidy.import_cpi(db, actor=staff.preparer, data=CPI.encode())
    # A 2-person 低保 household whose second member is also a 特困 person paid personally, and on 低保边缘 too.
    hh = make_household(db, VILLAGE_A1, members=[("王小红", "spouse", date(1972, 1, 1), "F")])
    spouse = hh.members[1].person
    enroll(db, program="dibao", amount="1074.00", start=date(2022, 1, 1), household=hh)
    enroll(db, program="extreme_poverty", amount="960.00", start=date(2022, 1, 1), household=hh, person=spouse)
    enroll(db, program="dibao_marginal", amount="0.01", start=date(2022, 1, 1), household=hh)
    account(db, f"H{hh.id}", "6230123400001111")
    roll, _ = subsidy.generate_subsidy_roll(db, actor=staff.preparer, county=COUNTY, month=date(2022, 9, 1),
                                            today=date(2022, 9, 15))
    assert roll is not None
    got = sorted((ln.payee_key, ln.amount_fen) for ln in db.scalars(
        select(PaymentLine).where(PaymentLine.roll_id == roll.id)))
    # 低保 is listed first in the pack's groups: both persons counted once there, 537 × 3.2% = 17.18 元 × 2 = 34.36;
    # the spouse's 特困 line and the household's 低保边缘 line count nobody new, so they are not made.
    assert got == [(f"H{hh.id}", 3436)]
    shares = db.execute(select(SubsidyShare.person_id, SubsidyShare.via_program)).all()
    assert sorted(shares) == sorted([(hh.members[0].person_id, "dibao"), (spouse.id, "dibao")])
    # The database refuses the same person a second subsidy for the month, whatever line it comes through.
    line_id = db.scalar(select(PaymentLine.id).where(PaymentLine.roll_id == roll.id))
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(SubsidyShare(line_id=line_id, person_id=spouse.id, month=date(2022, 9, 1),
                            via_program="extreme_poverty"))
        db.flush()
