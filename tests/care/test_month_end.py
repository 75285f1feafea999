"""The column-wise month end (every provider settled in one pass, each at its own price), the frozen settled
month, the household chain's care events and monitoring's re-assessments. Expected values by hand from the
安丘 pack (16 h 半自理, 10 h 全自理; 15-minute units; 30 元/h when the contract gives no price)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.care import flows, settlement, visits
from doudi.care import service as care
from doudi.care.models import CareVisit, ReassessmentRequest
from doudi.care.rules import local_time
from doudi.core.errors import Conflict
from doudi.monitoring.models import MonitorWarning
from doudi.registry.models import Membership
from doudi.web.chain import chain
from tests.care.world import HOME_A, World, build, items

MARCH = date(2026, 3, 1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in March 2026."""
    return local_time(date(2026, 3, day), hour, minute)


@pytest.fixture
def w(db: Session) -> World:
    return build(db)


def _visit(db: Session, w: World, day: int, *, person: int, giver: int, start: tuple[int, int],
           end: tuple[int, int], lat: float, lon: float, check_out: bool = True) -> CareVisit:
    v = visits.schedule_visit(db, actor=w.sys, person_id=person, caregiver_id=giver, service="meal",
                              start=at(day, 9), end=at(day, 11))
    visits.check_in(db, actor=w.sys, visit_id=v.id, at=at(day, *start), latitude=lat, longitude=lon, key=f"i{v.id}")
    if check_out:
        visits.check_out(db, actor=w.sys, visit_id=v.id, at=at(day, *end), latitude=lat, longitude=lon,
                         key=f"o{v.id}", services_done=["meal"])
    return v


def _household(db: Session, person_id: int) -> int:
    hh = db.scalar(select(Membership.household_id).where(Membership.person_id == person_id))
    assert hh is not None
    return hh


def test_every_provider_settled_in_one_pass_each_at_its_price(db: Session, w: World) -> None:
    giver_b = care.add_caregiver(db, actor=w.sys, provider_id=w.other_provider.id, name="钱护理",
                                 area_code="370784002")
    # Provider A (36.50 元/h): 09:00–11:00 at the home = 120 min, verified; a no-show on the 5th; a visit
    # checked in on the 6th and never checked out before the month was settled.
    paid = _visit(db, w, 2, person=w.person.id, giver=w.giver.id, start=(9, 0), end=(11, 0), lat=HOME_A[0],
                  lon=HOME_A[1])
    visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                          start=at(5, 9), end=at(5, 11))
    late = _visit(db, w, 6, person=w.person.id, giver=w.giver.id, start=(9, 0), end=(10, 0), lat=HOME_A[0],
                  lon=HOME_A[1], check_out=False)
    assert visits.mark_missed(db, actor=w.sys, today=date(2026, 3, 6)) == 1
    # Provider B (no contract price: the pack's 30 元/h): the home has no coordinates, so 09:00–10:30 is flagged,
    # then accepted by a supervisor: 90 min counted.
    blind = _visit(db, w, 3, person=w.person_b.id, giver=giver_b.id, start=(9, 0), end=(10, 30), lat=36.40,
                   lon=119.10)
    assert blind.status == "flagged"
    visits.review_visit(db, actor=w.sys, visit_id=blind.id, accept=True, reason="电话回访属实")
    out = settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 4, 2))
    got = {s.provider_key: (s.visits, s.paid_minutes, s.amount_fen, s.unpaid_visits) for s in out.created}
    # A: 120 min × 36.50 / 60 = 73.00 元 = 7300 fen; unpaid: the no-show and the visit still in progress.
    # B: 90 min × 30.00 / 60 = 45.00 元 = 4500 fen.
    assert got == {"ankang_care": (1, 120, 7300, 2), "jingzhi_care": (1, 90, 4500, 0)}
    lines = {s.provider_key: settlement.settlement_lines(db, settlement_id=s.id).select(
        "person_id", "visits", "verified_minutes", "entitled_minutes", "paid_minutes", "amount_fen").rows()
        for s in out.created}
    # Entitled: 半自理 16 h = 960 min, 全自理 10 h = 600 min.
    assert lines == {"ankang_care": [(w.person.id, 1, 120, 960, 120, 7300)],
                     "jingzhi_care": [(w.person_b.id, 1, 90, 600, 90, 4500)]}
    # The settled month is frozen: the late check-out is refused, and the paid visits are the counted ones.
    with pytest.raises(Conflict, match="已结算"):
        visits.check_out(db, actor=w.sys, visit_id=late.id, at=at(6, 10), latitude=HOME_A[0],
                         longitude=HOME_A[1], key="late-out", services_done=["meal"])
    settled = visits.settled_months(db)
    assert visits.is_paid(paid, settled) and visits.is_paid(blind, settled)
    assert not visits.is_paid(late, settled)
    again = settlement.settle_month(db, actor=w.sys, month=MARCH, today=date(2026, 4, 2))
    assert again.created == [] and len(again.skipped) == 2 and all("已结算" in x for x in again.skipped)


def test_household_chain_shows_assessments_visits_and_the_end(db: Session, w: World) -> None:
    _visit(db, w, 2, person=w.person.id, giver=w.giver.id, start=(9, 0), end=(11, 0), lat=HOME_A[0], lon=HOME_A[1])
    _visit(db, w, 4, person=w.person.id, giver=w.giver.id, start=(9, 0), end=(10, 30), lat=HOME_A[0], lon=HOME_A[1])
    visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                          start=at(5, 9), end=at(5, 11))
    visits.mark_missed(db, actor=w.sys, today=date(2026, 3, 6))
    w.person.date_of_death = date(2026, 5, 10)
    db.flush()
    care.end_entitlements(db, actor=w.sys, today=date(2026, 5, 12))
    _, events = chain(db, actor=w.sys, household_id=_household(db, w.person.id))
    mine = [(e.on, e.kind, e.title, e.detail) for e in events if e.kind in ("照料评估", "居家上门服务", "照料终止")]
    # Verified 120 + 90 min = 210 min = 3.5 h; the last visit of the month is the no-show of the 5th.
    # Death on 10 May: no care from June.
    assert mine == [
        (date(2026, 1, 10), "照料评估", "孙老汉 生活自理能力：半自理（首次评估）", "每月 16 小时，自 2026年01月 起"),
        (date(2026, 3, 5), "居家上门服务", "孙老汉 2026年03月 上门服务 2 次，核验计入 3.5 小时", "未上门 1 次"),
        (date(2026, 6, 1), "照料终止", "孙老汉 居家照料服务自 2026年06月 起终止", "服务对象死亡"),
    ]


def test_monitoring_warning_raises_one_reassessment(db: Session, w: World) -> None:
    hh = _household(db, w.person.id)
    db.add(MonitorWarning(rule_key="care_reassessment", level="orange", status="new", subject_key=f"p{w.person.id}",
                          open_key=f"care_reassessment:p{w.person.id}", person_id=w.person.id, household_id=hh,
                          area_code="370784001001", reason="医疗自付 8000 元", first_seen_on=date(2026, 3, 2),
                          last_seen_on=date(2026, 3, 2), due_on=date(2026, 3, 16), version=1))
    db.flush()
    assert flows.reassess_from_monitoring(db, actor=w.sys, today=date(2026, 3, 3)) == 1
    (req,) = db.scalars(select(ReassessmentRequest)).all()
    # Tuesday 3 March + 10 working days (Art. 23) = Tuesday 17 March.
    assert (req.person_id, req.trigger, req.due_on) == (w.person.id, "monitoring", date(2026, 3, 17))
    assert "医疗自付 8000 元" in req.reason
    # The warning stays open: the next days raise nothing (one open request, then the assessment answers it).
    assert flows.reassess_from_monitoring(db, actor=w.sys, today=date(2026, 3, 4)) == 0
    care.record_assessment(db, actor=w.sys, person_id=w.person.id, assessed_on=date(2026, 3, 10), items=items(4),
                           assessor="甲", evidence="住院后入户", trigger="monitoring")
    assert req.done_assessment_id is not None
    assert flows.reassess_from_monitoring(db, actor=w.sys, today=date(2026, 3, 11)) == 0
    assert len(db.scalars(select(ReassessmentRequest)).all()) == 1


def test_an_idempotency_key_of_another_visit_is_refused(db: Session, w: World) -> None:
    first = _visit(db, w, 2, person=w.person.id, giver=w.giver.id, start=(9, 0), end=(11, 0), lat=HOME_A[0],
                   lon=HOME_A[1])
    second = visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                                   start=at(3, 9), end=at(3, 11))
    with pytest.raises(Conflict, match="该幂等键已用于另一次签到"):
        visits.check_in(db, actor=w.sys, visit_id=second.id, at=at(3, 9), latitude=HOME_A[0], longitude=HOME_A[1],
                        key=f"i{first.id}")
    visits.check_in(db, actor=w.sys, visit_id=second.id, at=at(3, 9), latitude=HOME_A[0], longitude=HOME_A[1],
                    key="fresh-in")
    with pytest.raises(Conflict, match="该幂等键已用于另一次签退"):
        visits.check_out(db, actor=w.sys, visit_id=second.id, at=at(3, 11), latitude=HOME_A[0],
                         longitude=HOME_A[1], key=f"o{first.id}", services_done=["meal"])
    done = visits.check_out(db, actor=w.sys, visit_id=second.id, at=at(3, 11), latitude=HOME_A[0],
                            longitude=HOME_A[1], key="fresh-out", services_done=["meal"])
    assert (done.status, done.counted_minutes) == ("verified", 120)  # 09:00–11:00 at the home
