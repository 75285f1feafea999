"""Home care on SQLite and PostgreSQL: levels and hours, entitlement ceiling, double-booking, verification
tolerances, settlement from verified hours only, idempotent check-ins. Expected values are computed by hand
from 特困人员认定办法 Art. 22 and the 安丘 pack (10/16/32 hours; tolerances 300 m, 30–240 min, 15-min units)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.care import service as care
from doudi.care import settlement, visits
from doudi.care.models import CareEntitlement, CareSettlement, CareVisit, VisitStatus
from doudi.care.rules import local_time, settle
from doudi.cases import notices
from doudi.core.errors import Conflict, ValidationFailed
from tests.care.world import HOME_A, World, build, dispersed_person, items, recipient

MARCH = date(2026, 3, 1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A local time in 2026."""
    return local_time(date(2026, month, day), hour, minute)


@pytest.fixture
def w(db: Session) -> World:
    return build(db)


def _book(db: Session, w: World, day: int, h1: int, h2: int, *, person: int | None = None, giver: int | None = None,
          service: str = "meal", m2: int = 0) -> CareVisit:
    return visits.schedule_visit(db, actor=w.sys, person_id=person or w.person.id, caregiver_id=giver or w.giver.id,
                                 service=service, start=at(day, h1), end=at(day, h2, m2))


def _do(db: Session, w: World, v: CareVisit, start: datetime, end: datetime, *, lat: float | None = HOME_A[0],
        lon: float | None = HOME_A[1], tag: str = "") -> CareVisit:
    visits.check_in(db, actor=w.sys, visit_id=v.id, at=start, latitude=lat, longitude=lon, key=f"in-{v.id}{tag}")
    return visits.check_out(db, actor=w.sys, visit_id=v.id, at=end, latitude=lat, longitude=lon,
                            key=f"out-{v.id}{tag}", services_done=[v.service])


@pytest.mark.parametrize(("unable", "level", "hours"), [
    (0, "self_care", 10), (1, "partial", 16), (3, "partial", 16), (4, "full", 32), (6, "full", 32)])
def test_level_and_hours_from_the_six_items(db: Session, unable: int, level: str, hours: int) -> None:
    # Art. 22: all six met = self-care; 1–3 not met = partial; 4 or more ("以上" includes 4) = full.
    build(db)
    person, _ = dispersed_person(db, "370784001001", "测试人", date(2026, 1, 1))
    res = care.record_assessment(db, actor=system_actor(), person_id=person.id,
                                 assessed_on=date(2026, 2, 5), items=items(unable), assessor="甲", evidence="入户")
    assert (res.assessment.unable_items, res.assessment.level) == (unable, level)
    assert res.assessment.hours == Decimal(hours)
    assert res.entitlement is not None and res.entitlement.from_month == date(2026, 2, 1)
    assert care.entitled_hours(db, person_id=person.id, month=date(2026, 2, 1)) == hours


def test_level_change_mid_month_takes_effect_next_month(db: Session, w: World) -> None:
    # Assessed partial (2 items) in January: 16 h. On 15 March five items are not met: full, 32 h from April.
    res = care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=date(2026, 3, 15), items=items(5),
                                 assessor="乙", evidence="住院后复核", trigger="monitoring")
    assert res.assessment.level == "full" and res.assessment.effective_month == date(2026, 4, 1)
    assert "半自理" in res.notice and "不能自理" in res.notice and "2026年04月" in res.notice and "32" in res.notice
    assert care.entitled_hours(db, person_id=w.person.id, month=MARCH) == 16
    assert care.entitled_hours(db, person_id=w.person.id, month=date(2026, 4, 1)) == 32
    periods = [(e.from_month, e.to_month, e.status) for e in care.entitlements_of(db, person_id=w.person.id)]
    assert periods == [(date(2026, 4, 1), None, "active"), (date(2026, 1, 1), date(2026, 4, 1), "ended")]
    # The same level again changes nothing and gives no notice.
    again = care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=date(2026, 3, 20),
                                   items=items(4), assessor="乙", evidence="复核")
    assert again.entitlement is None and again.notice == "" and again.document is None


def test_level_change_gives_a_printable_notice(db: Session, w: World) -> None:
    # 半自理 16 h (January) → 不能自理 32 h from April: a notice on the person's 特困 enrollment, as a PDF.
    res = care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=date(2026, 3, 15), items=items(5),
                                 assessor="乙", evidence="住院后复核", trigger="monitoring")
    doc = res.document
    assert doc is not None and doc.kind == "care_level" and doc.enrollment_id == w.enrollment.id
    assert doc.issued_on == date(2026, 3, 15) and doc.number.startswith("ZL20260315")
    c = doc.content
    assert (c["old_level"], c["old_hours"], c["new_level"], c["new_hours"], c["effective"]) == (
        "半自理", "16", "不能自理", "32", "2026-04-01")
    assert c["applicant"] == "孙老汉" and "*" in str(c["applicant_id"]) and "第二十二条" in str(c["basis"])
    pdf = notices.render_pdf(doc)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_assessment_refuses_missing_items_and_persons_not_dispersed(db: Session, w: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=MARCH, items={"eating": True},
                               assessor="", evidence="x")
    fields = {e.field for e in exc.value.errors}
    assert {"dressing", "bathing", "assessor"} <= fields
    w.person.support_mode = "centralized"
    db.flush()
    with pytest.raises(ValidationFailed, match="分散供养"):
        care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=MARCH, items=items(0),
                               assessor="甲", evidence="x")


def test_schedule_never_exceeds_the_entitled_hours(db: Session, w: World) -> None:
    # Partial: 16 h in March. Eight 2-hour visits fill it; one more hour is refused; a cancellation frees 2 h.
    booked = [_book(db, w, d, 9, 11) for d in (2, 3, 4, 5, 6, 9, 10, 11)]
    with pytest.raises(ValidationFailed, match="核定 16 小时，已排 16 小时，本次 1 小时"):
        _book(db, w, 12, 9, 10)
    with pytest.raises(ValidationFailed, match="原因"):
        visits.cancel_visit(db, actor=w.sys, visit_id=booked[0].id, reason=" ")
    visits.cancel_visit(db, actor=w.sys, visit_id=booked[0].id, reason="服务对象外出就医")
    assert _book(db, w, 12, 9, 11).status == VisitStatus.SCHEDULED
    # April is a new month: unused March hours do not carry over, April has its own 16 h.
    april = visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                                  start=at(1, 9, month=4), end=at(1, 11, month=4))
    assert april.visit_date == date(2026, 4, 1)


def test_caregiver_is_never_double_booked(db: Session, w: World) -> None:
    _book(db, w, 2, 9, 11)
    with pytest.raises(Conflict, match="陈护理 在该时段已有上门服务"):
        _book(db, w, 2, 10, 12)
    with pytest.raises(Conflict):  # touching inside the interval
        _book(db, w, 2, 9, 10)
    assert _book(db, w, 2, 11, 12).planned_start == at(2, 11)  # back-to-back is fine
    assert _book(db, w, 2, 9, 10, giver=w.giver2.id).caregiver_id == w.giver2.id  # another caregiver is free
    v = _book(db, w, 3, 9, 10)
    with pytest.raises(Conflict):  # rescheduling onto a booked slot is refused too
        visits.reschedule_visit(db, actor=w.sys, visit_id=v.id, start=at(2, 9), end=at(2, 10), reason="对象要求")
    moved = visits.reschedule_visit(db, actor=w.sys, visit_id=v.id, start=at(4, 14), end=at(4, 15), reason="对象要求")
    assert moved.visit_date == date(2026, 3, 4) and moved.reason == "对象要求"


def test_bad_bookings_are_refused_with_the_reason(db: Session, w: World) -> None:
    with pytest.raises(ValidationFailed, match="所属机构不是该服务对象的服务机构"):
        _book(db, w, 2, 9, 11, giver=w.other_giver.id)  # a caregiver outside the person's provider
    with pytest.raises(ValidationFailed, match="所属机构不是该服务对象的服务机构"):
        _book(db, w, 2, 9, 11, person=w.person_b.id)  # a person not assigned to the caregiver's provider
    with pytest.raises(ValidationFailed, match="服务目录"):
        _book(db, w, 2, 9, 11, service="rehab")
    with pytest.raises(ValidationFailed, match="结束时间须晚于开始时间"):
        _book(db, w, 2, 11, 9)


def test_verification_tolerances(db: Session, w: World) -> None:
    # At the home (0.0001° ≈ 11 m), 09:05–10:58 = 113 min → verified, counted 105 (15-minute units, down).
    ok = _do(db, w, _book(db, w, 2, 9, 11), at(2, 9, 5), at(2, 10, 58), lat=HOME_A[0] + 0.0001)
    assert (ok.status, ok.minutes, ok.counted_minutes, ok.flags) == ("verified", 113, 105, [])
    assert ok.distance_m == 11
    # 0.004° north ≈ 445 m > 300 m → flagged.
    far = _do(db, w, _book(db, w, 3, 9, 11), at(3, 9), at(3, 11), lat=HOME_A[0] + 0.004)
    assert far.status == "flagged" and far.flags == ["too_far"] and 440 <= (far.distance_m or 0) <= 450
    # 29 min < 30 → short; exactly 30 is enough ("以上" includes the number).
    short = _do(db, w, _book(db, w, 4, 9, 11), at(4, 9), at(4, 9, 29))
    assert short.status == "flagged" and short.flags == ["short"] and short.counted_minutes == 15
    exact = _do(db, w, _book(db, w, 5, 9, 11), at(5, 9), at(5, 9, 30))
    assert (exact.status, exact.counted_minutes) == ("verified", 30)
    # No location from the phone → flagged, never silently verified.
    blind = _do(db, w, _book(db, w, 6, 9, 11), at(6, 9), at(6, 11), lat=None, lon=None)
    assert blind.status == "flagged" and blind.flags == ["no_location"]


def test_home_without_coordinates_is_flagged_then_recorded_at_the_supervised_visit(db: Session, w: World) -> None:
    c = care.add_caregiver(db, actor=w.sys, provider_id=w.other_provider.id, name="钱护理", area_code="370784002")
    v = _book(db, w, 2, 9, 11, person=w.person_b.id, giver=c.id)
    done = _do(db, w, v, at(2, 9), at(2, 11), lat=36.40, lon=119.10)
    assert done.status == "flagged" and done.flags == ["no_home_coordinates"]
    with pytest.raises(ValidationFailed):
        visits.review_visit(db, actor=w.sys, visit_id=v.id, accept=True, reason="")
    visits.review_visit(db, actor=w.sys, visit_id=v.id, accept=True, reason="电话回访属实")
    r = recipient(db, w.person_b.id)
    assert (r.latitude, r.longitude, r.coords_source) == (36.40, 119.10, "supervised_visit")
    with pytest.raises(Conflict):
        visits.review_visit(db, actor=w.sys, visit_id=v.id, accept=False, reason="再改")


def test_check_out_before_check_in_and_repeated_submissions(db: Session, w: World) -> None:
    v = _book(db, w, 2, 9, 11)
    with pytest.raises(Conflict, match="须先签到"):
        visits.check_out(db, actor=w.sys, visit_id=v.id, at=at(2, 10), latitude=None, longitude=None, key="out-x1",
                         services_done=[])
    first = visits.check_in(db, actor=w.sys, visit_id=v.id, at=at(2, 9), latitude=HOME_A[0], longitude=HOME_A[1],
                            key="flaky-key-1")
    again = visits.check_in(db, actor=w.sys, visit_id=v.id, at=at(2, 9, 3), latitude=HOME_A[0], longitude=HOME_A[1],
                            key="flaky-key-1")
    assert again.id == first.id and again.check_in_at is not None
    assert again.check_in_at.replace(tzinfo=None) == at(2, 9).replace(tzinfo=None)  # the first one counts
    n = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "care.visit_check_in",
                                                                     AuditEntry.object_id == str(v.id)))
    assert n == 1
    with pytest.raises(ValidationFailed, match="签退时间不能早于"):
        visits.check_out(db, actor=w.sys, visit_id=v.id, at=at(2, 8, 50), latitude=None, longitude=None,
                         key="out-x2", services_done=[])


def test_settlement_counts_verified_hours_only_once_per_provider_and_month(db: Session, w: World) -> None:
    # Provider A at 36.50 元/h: verified 113 min (counted 105) + accepted 60 min + rejected 29 min + a no-show.
    _do(db, w, _book(db, w, 2, 9, 11), at(2, 9, 5), at(2, 10, 58))
    blind = _do(db, w, _book(db, w, 3, 9, 11), at(3, 9), at(3, 10), lat=None, lon=None)
    short = _do(db, w, _book(db, w, 4, 9, 11), at(4, 9), at(4, 9, 29))
    _book(db, w, 5, 9, 11)
    visits.review_visit(db, actor=w.sys, visit_id=blind.id, accept=True, reason="电话核实")
    visits.review_visit(db, actor=w.sys, visit_id=short.id, accept=False, reason="服务时长不足")
    assert visits.mark_missed(db, actor=w.sys, today=date(2026, 3, 6)) == 1
    with pytest.raises(Conflict, match="尚未结束"):
        settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 3, 31))
    out = settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 4, 2), provider_id=w.provider.id)
    (s,) = out.created
    # 105 + 60 = 165 min × 36.50 / 60 = 100.375 → 100.38 元 (half up) = 10038 fen.
    assert (s.paid_minutes, s.amount_fen, s.visits, s.unpaid_visits) == (165, 10038, 2, 2)
    again = settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 4, 2), provider_id=w.provider.id)
    assert again.created == [] and "已结算" in again.skipped[0]
    payable = settlement.provider_payables(db, month=MARCH)
    row = payable.filter(pl.col("provider_key") == "ankang_care").row(0, named=True)
    assert (row["component"], row["amount_fen"], row["amount"]) == ("provider_payable", 10038, Decimal("100.38"))
    unpaid = settlement.unpaid_visits(db, settlement=s)
    assert sorted(unpaid["status"].to_list()) == ["missed", "rejected"]
    with pytest.raises(Conflict, match="已结算"):  # a settled visit cannot be changed afterwards
        visits.review_visit(db, actor=w.sys, visit_id=blind.id, accept=False, reason="x")
    # The database itself refuses a second settlement of the month.
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(CareSettlement(provider_id=w.provider.id, provider_key="ankang_care", area_code="370784",
                              month=MARCH, visits=0, paid_minutes=0, unpaid_visits=0,
                              hourly_rate=Decimal("36.50"), amount_fen=0, created_by="x"))
        db.flush()


def test_paid_minutes_are_capped_at_the_entitlement(db: Session, w: World) -> None:
    # Person B, self-care: 10 h = 600 min. Five 2-hour visits that ran 140 min each count 135 (15-min units):
    # 675 verified minutes, 600 paid. Provider B has no contract price: the pack's 30 元/h → 300.00 元.
    c = care.add_caregiver(db, actor=w.sys, provider_id=w.other_provider.id, name="钱护理", area_code="370784002")
    care.enroll_recipient(db, actor=w.sys, person_id=w.person_b.id, provider_id=w.other_provider.id,
                          latitude=36.40, longitude=119.10)
    for d in (2, 3, 4, 5, 6):
        v = _book(db, w, d, 9, 11, person=w.person_b.id, giver=c.id)
        _do(db, w, v, at(d, 9), at(d, 11, 20), lat=36.40, lon=119.10)
    (s,) = settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 4, 1),
                                   provider_id=w.other_provider.id).created
    assert (s.hourly_rate, s.paid_minutes, s.amount_fen) == (Decimal("30.00"), 600, 30000)
    lines = settlement.settlement_lines(db, settlement_id=s.id)
    assert lines.select("verified_minutes", "entitled_minutes", "paid_minutes").row(0) == (675, 600, 600)


def test_settle_rule_rounds_each_line_half_up() -> None:
    # 1 min at 30.50 元/h = 50.83 fen → 51; 3 min = 152.5 fen → 153 (half up); no entitlement → nothing paid.
    v = pl.DataFrame({"person_id": [1, 2, 3], "area_code": ["a", "a", "a"], "counted_minutes": [1, 3, 45]})
    e = pl.DataFrame({"person_id": [1, 2], "entitled_minutes": [600, 600]})
    out = settle(v, e, Decimal("30.50"))
    assert out.select("person_id", "paid_minutes", "amount_fen").rows() == [(1, 1, 51), (2, 3, 153), (3, 0, 0)]


def test_entitlement_ends_with_death_or_institution(db: Session, w: World) -> None:
    w.person.date_of_death = date(2026, 5, 10)
    w.person_b.support_mode = "centralized"
    db.flush()
    assert care.end_entitlements(db, actor=w.sys, today=date(2026, 5, 12)) == 2
    assert care.entitled_hours(db, person_id=w.person.id, month=date(2026, 5, 1)) == 16
    assert care.entitled_hours(db, person_id=w.person.id, month=date(2026, 6, 1)) == 0
    assert care.entitled_hours(db, person_id=w.person_b.id, month=date(2026, 6, 1)) == 0
    ended = db.scalars(select(CareEntitlement).where(CareEntitlement.person_id == w.person.id)).one()
    assert ended.end_reason == "服务对象死亡"


def test_reassessment_deadline_and_yearly_review(db: Session, w: World) -> None:
    # Monday 2 March 2026 + 10 working days (Art. 23) = Monday 16 March.
    req = care.request_reassessment(db, actor=w.sys, person_id=w.person.id, trigger="caregiver",
                                    reason="护理员报告：行动能力下降", today=date(2026, 3, 2))
    assert req.due_on == date(2026, 3, 16)
    res = care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=date(2026, 3, 10),
                                 items=items(2), assessor="甲", evidence="复核", trigger="caregiver")
    assert req.done_assessment_id == res.assessment.id
    # The yearly review: assessed 10 Jan 2026, due 10 Jan 2027 (12 months, provisional pack value).
    assert care.raise_yearly_reviews(db, actor=w.sys, today=date(2027, 1, 9)) == 0
    assert care.raise_yearly_reviews(db, actor=w.sys, today=date(2027, 1, 10)) == 1  # person B (A re-assessed)


def test_monthly_plan_fills_the_hours_without_double_booking(db: Session, w: World) -> None:
    n = visits.plan_month(db, actor=w.sys, month=date(2026, 4, 1))
    # A: 16 h / 2 h = 8 visits; B: 10 h / 2 h = 5 visits (the pack's 120-minute default).
    assert n == 13
    rows = db.execute(select(CareVisit.person_id, CareVisit.caregiver_id, CareVisit.planned_start,
                             CareVisit.planned_end).where(CareVisit.visit_date >= date(2026, 4, 1))).all()
    per = {pid: sum(1 for r in rows if r[0] == pid) for pid in (w.person.id, w.person_b.id)}
    assert per == {w.person.id: 8, w.person_b.id: 5}
    by_giver: dict[int, list[tuple[datetime, datetime]]] = {}
    for _, g, s, e in rows:
        for s2, e2 in by_giver.get(g, []):
            assert not (s < e2 and e > s2)
        by_giver.setdefault(g, []).append((s, e))
    assert visits.plan_month(db, actor=w.sys, month=date(2026, 4, 1)) == 0  # a second run adds nothing
