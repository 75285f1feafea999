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
from doudi.payments import bank, payables, service, subsidy
from doudi.payments.models import LineStatus, PaymentLine, SubsidyShare
from tests.factories import TOWN_A, VILLAGE_A1, make_household
from tests.payments.test_http import _login
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


def _two_providers_paid(db: Session) -> tuple[int, list[CareSettlement], CareSettlement]:
    """Providers A and B settled for March and paid by April's provider roll, approved and sent as pain.001 files
    of one transaction each; A's April settlement is not on a roll yet."""
    staff = make_staff(db)
    sys = system_actor()
    settled: list[CareSettlement] = []
    for key, name, fen in (("care_a", "甲照护中心", 10038), ("care_b", "乙照护中心", 7300)):
        p = care.create_provider(db, actor=sys, key=key, name=name, area_code=COUNTY, contract_no=f"AQ-{key}",
                                 contract_from=date(2026, 1, 1), contract_to=date(2026, 12, 31), townships=[TOWN_A],
                                 services=["meal"], hourly_rate=Decimal("36.50"))
        account(db, payables.payee_key(p.id), f"62305555666677{len(settled):02d}", area=COUNTY, name=name)
        # A: 165 min × 36.50 元/h = 100.375 → 100.38 元; B: 120 min × 36.50 元/h = 73.00 元.
        settled.append(_settlement(db, p.id, key, MARCH, 165 if key == "care_a" else 120, fen))
    later = _settlement(db, settled[0].provider_id, "care_a", APRIL, 60, 3650)  # 60 min × 36.50 元/h = 36.50 元
    roll = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=APRIL, program=payables.PROGRAM)
    service.approve_roll(db, actor=staff.checker, roll_id=roll.id, version=roll.version)
    bank.export_roll(db, actor=staff.checker, roll_id=roll.id, fmt="pain001", max_per_file=1)
    return roll.id, settled, later


def test_settlement_linked_to_its_roll_and_bank_file(db: Session) -> None:
    roll_id, settled, later = _two_providers_paid(db)
    lines = {ln.settlement_id: ln for ln in db.scalars(select(PaymentLine).where(PaymentLine.roll_id == roll_id))}
    # A cap of one transaction makes one file per line, in line-id order: the lower line id is in file 1.
    first, second = sorted(lines.values(), key=lambda ln: ln.id)
    expected_seq = {first.settlement_id: 1, second.settlement_id: 2}
    got = payables.settlement_payments(db, actor=system_actor())
    rows = {r["settlement_id"]: r for r in got.iter_rows(named=True)}
    assert set(rows) == {settled[0].id, settled[1].id, later.id}
    for s in settled:
        seq = expected_seq[s.id]
        assert (rows[s.id]["roll_id"], rows[s.id]["line_id"], rows[s.id]["line_status"]) == (
            roll_id, lines[s.id].id, LineStatus.PENDING)
        assert (rows[s.id]["file_seq"], rows[s.id]["file_msg_id"]) == (seq, f"DD{roll_id}-{seq:04d}-P")
    assert rows[later.id]["roll_id"] is None and rows[later.id]["file_msg_id"] is None  # April is paid in May
    assert got["settlement_id"][0] == later.id  # newest month first
    march = payables.settlement_payments(db, actor=system_actor(), month=MARCH)
    assert sorted(march["settlement_id"].to_list()) == sorted(s.id for s in settled)


def test_settlements_page_links_roll_and_file(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    roll_id, _, _ = _two_providers_paid(db)
    _login(client, "pay_checker")
    page = client.get("/payments/settlements?month=2026-03")
    assert page.status_code == 200
    assert page.text.count(f'href="/payments/rolls/{roll_id}"') == 2  # both March settlements, one roll
    for seq in (1, 2):
        assert f'href="/payments/rolls/{roll_id}#file-{seq}"' in page.text and f"DD{roll_id}-{seq:04d}-P" in page.text
    assert "甲照护中心" in page.text and "乙照护中心" in page.text and "100.38" in page.text
    assert client.get("/payments/settlements").text.count("尚未编入花名册") == 1  # A's April settlement
    roll = client.get(f"/payments/rolls/{roll_id}")
    assert 'id="file-1"' in roll.text and 'id="file-2"' in roll.text
    assert client.get("/payments/settlements?month=2026-13").status_code == 422
