"""Monthly rolls, hand-computed: 渐退 and termination, a 特困 care-level change, a death, back pay, at most once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.core.errors import Conflict, PermissionDenied, ValidationFailed
from doudi.payments import service
from doudi.payments.models import LineStatus, PaymentLine, PaymentRoll, RollStatus
from tests.factories import VILLAGE_A1, make_household
from tests.payments.world import COUNTY, account, change, enroll, make_staff, person


def lines_of(db: Session, roll: PaymentRoll) -> list[tuple[str, str, str, int]]:
    """(payee, component, entitlement month, fen) of a roll's lines, sorted."""
    rows = db.scalars(select(PaymentLine).where(PaymentLine.roll_id == roll.id))
    return sorted((r.payee_key, r.component, f"{r.entitlement_month:%Y-%m}", r.amount_fen) for r in rows)


def roll(db: Session, actor, month: str, program: str = "dibao") -> PaymentRoll:  # type: ignore[no-untyped-def]
    """Generate a roll for the county."""
    return service.generate_roll(db, actor=actor, county=COUNTY, month=service.parse_month(month), program=program)


def test_household_through_gradual_exit_and_termination(db: Session) -> None:
    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    key = f"H{hh.id}"
    account(db, key, "6230123456789012")
    # 1,074.00 a month from January; reduced to 800.00 from March; 渐退 March–May; terminated from July.
    e = enroll(db, program="dibao", amount="800.00", start=date(2026, 1, 1), household=hh, status="terminated",
               exit_until=date(2026, 6, 1), end=date(2026, 7, 1))
    change(db, e, kind="decrease", month=date(2026, 3, 1), old="1074.00", new="800.00")
    jan = roll(db, staff.preparer, "2026-01")
    assert lines_of(db, jan) == [(key, "basic", "2026-01", 107400)]
    assert (jan.line_count, jan.total_fen, jan.status) == (1, 107400, RollStatus.DRAFT)
    # February's roll is skipped: March pays February as back pay at the old amount, and March at the new one.
    mar = roll(db, staff.preparer, "2026-03")
    assert lines_of(db, mar) == [(key, "back_pay", "2026-02", 107400), (key, "basic", "2026-03", 80000)]
    assert mar.total_fen == 107400 + 80000
    line = db.scalar(select(PaymentLine).where(PaymentLine.roll_id == mar.id, PaymentLine.component == "basic"))
    assert line is not None and "渐退期内照发" in line.rule and "2026-07 起停发" in line.rule
    for m in ("2026-04", "2026-05", "2026-06"):
        assert lines_of(db, roll(db, staff.preparer, m)) == [(key, "basic", m, 80000)]
    assert lines_of(db, roll(db, staff.preparer, "2026-07")) == []  # terminated from July: nothing, no back pay


def test_extreme_poverty_care_level_change_mid_year(db: Session) -> None:
    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    p = person(db, "李大爷", date(1950, 3, 1))
    account(db, f"P{p.id}", "6230999988887777", name="李大爷")
    # 900 = basic 700 + partial care 200 until June; from July full care: 700 + 500 = 1,200 (national pack).
    e = enroll(db, program="extreme_poverty", amount="1200.00", start=date(2026, 1, 1), household=hh, person=p,
               level="full")
    change(db, e, kind="increase", month=date(2026, 7, 1), old="900.00", new="1200.00", old_level="partial",
           new_level="full")
    jun = roll(db, staff.preparer, "2026-06", "extreme_poverty")
    k = f"P{p.id}"
    # Jan–May came before this first roll: only the 3 months the pack allows are back-paid (Mar, Apr, May).
    assert lines_of(db, jun) == [
        (k, "back_pay", "2026-03", 20000), (k, "back_pay", "2026-03", 70000),
        (k, "back_pay", "2026-04", 20000), (k, "back_pay", "2026-04", 70000),
        (k, "back_pay", "2026-05", 20000), (k, "back_pay", "2026-05", 70000),
        (k, "basic", "2026-06", 70000), (k, "care", "2026-06", 20000)]
    jul = roll(db, staff.preparer, "2026-07", "extreme_poverty")
    assert lines_of(db, jul) == [(k, "basic", "2026-07", 70000), (k, "care", "2026-07", 50000)]
    assert jul.total_fen == 120000


def test_death_stops_payment_from_the_next_month(db: Session) -> None:
    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    child = person(db, "小明", date(2015, 6, 1))
    account(db, f"P{child.id}", "6230111122223333")
    enroll(db, program="child_welfare", amount="1500.00", start=date(2026, 4, 1), household=hh, person=child)
    apr = roll(db, staff.preparer, "2026-04", "child_welfare")
    assert lines_of(db, apr) == [(f"P{child.id}", "basic", "2026-04", 150000)]
    child.date_of_death = date(2026, 4, 15)  # a death reported by a feed: April was his, May is not
    db.flush()
    assert lines_of(db, roll(db, staff.preparer, "2026-05", "child_welfare")) == []


def test_suspended_paid_nothing_and_no_account_held(db: Session) -> None:
    staff = make_staff(db)
    enroll(db, program="dibao", amount="500.00", start=date(2026, 1, 1), status="suspended")
    hh = make_household(db, VILLAGE_A1)
    enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)  # no account yet
    r = roll(db, staff.preparer, "2026-01")
    assert lines_of(db, r) == [(f"H{hh.id}", "basic", "2026-01", 53700)]
    line = db.scalar(select(PaymentLine).where(PaymentLine.roll_id == r.id))
    assert line is not None and line.status == LineStatus.NO_ACCOUNT


def test_at_most_once_and_idempotent(db: Session) -> None:
    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    account(db, f"H{hh.id}", "6230123456789012")
    enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
    first = roll(db, staff.preparer, "2026-01")
    again = roll(db, staff.preparer, "2026-01")
    assert again.id == first.id and again.line_count == 1
    line = db.scalar(select(PaymentLine).where(PaymentLine.roll_id == first.id))
    assert line is not None
    # The database itself refuses a second line for the same payee, program, component and month.
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(PaymentLine(roll_id=first.id, payee_key=line.payee_key, program="dibao", component="back_pay",
                           covers="basic", entitlement_month=date(2026, 1, 1), amount_fen=53700,
                           area_code=VILLAGE_A1, end_to_end_id="DDX-1"))
        db.flush()
    # …and a second roll for the same county, month and program.
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(PaymentRoll(area_code=COUNTY, month=date(2026, 1, 1), program="dibao", version=1))
        db.flush()


def test_two_enrollments_for_one_payee_and_month_are_paid_once(db: Session) -> None:
    """A migrated ledger row beside a new decision (重复): one line, the oldest enrollment's; the other is held and
    named in the audit entry, and the roll is generated instead of failing on the unique key."""
    from doudi.audit.models import AuditEntry

    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    account(db, f"H{hh.id}", "6230123456789012")
    first = enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
    second = enroll(db, program="dibao", amount="600.00", start=date(2026, 1, 1), household=hh)
    r = roll(db, staff.preparer, "2026-01")
    lines = db.scalars(select(PaymentLine).where(PaymentLine.roll_id == r.id)).all()
    assert [(ln.enrollment_id, ln.amount_fen) for ln in lines] == [(first.id, 53700)]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "payment.roll_generate")).one()
    assert entry.changes["held_duplicates"] == [None, [second.id]]


def test_maker_checker_approval(db: Session) -> None:
    staff = make_staff(db)
    enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1))
    r = roll(db, staff.preparer, "2026-01")
    with pytest.raises(Conflict, match="制单人不能审核"):
        service.approve_roll(db, actor=staff.preparer, roll_id=r.id, version=r.version)
    with pytest.raises(PermissionDenied):
        service.approve_roll(db, actor=staff.worker, roll_id=r.id, version=r.version)
    seen = r.version
    service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=seen)
    assert r.status == RollStatus.APPROVED and r.approved_by_name == "pay_checker"
    with pytest.raises(Conflict):  # the same approval sent twice: the version moved on
        service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=seen)


def test_bad_input_is_refused_in_chinese(db: Session) -> None:
    staff = make_staff(db)
    with pytest.raises(ValidationFailed, match="月份格式"):
        service.parse_month("2026/13")
    with pytest.raises(ValidationFailed, match="不是按月发放的项目"):
        roll(db, staff.preparer, "2026-01", "temporary_assistance")
    with pytest.raises(PermissionDenied):
        service.generate_roll(db, actor=staff.preparer, county="440781", month=date(2026, 1, 1), program="dibao")


def test_lines_written_in_key_order_with_fixed_width_references(db: Session) -> None:
    """Lines are numbered in the once-only key's order (program, month, covers, payee), references of fixed width:
    a household numbered 10 sorts after 9 as a payee key 'H10' does not, so the ids follow the text order."""
    staff = make_staff(db)
    keys = []
    for _ in range(3):
        hh = make_household(db, VILLAGE_A1)
        account(db, f"H{hh.id}", f"62301234567890{hh.id % 100:02d}")
        enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
        keys.append(f"H{hh.id}")
    r = roll(db, staff.preparer, "2026-01")
    rows = db.execute(select(PaymentLine.payee_key, PaymentLine.end_to_end_id)
                      .where(PaymentLine.roll_id == r.id).order_by(PaymentLine.id)).all()
    assert [k for k, _ in rows] == sorted(keys)
    assert [ref for _, ref in rows] == [f"DD{r.id}-000000{i}" for i in (1, 2, 3)]
