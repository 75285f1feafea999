"""Full case lifecycles through the real services on SQLite and PostgreSQL, with dates under test control.

Amounts are computed by hand from the packs: 安丘 rural 低保 standard 537 yuan (种子文章), employment-cost
deduction 200 yuan per working member (安丘 pack, provisional), 特困 rural basic standard 960 yuan plus the
partial-care standard 200 yuan (national pack, provisional), township limit for temporary aid 1,000 yuan.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.cases import enrollments, notices, steps
from doudi.cases.models import Case, Enrollment, Notice, Task, TemporaryGrant
from doudi.core import clock
from doudi.core.errors import Conflict, PermissionDenied, ValidationFailed
from doudi.core.ids import build_id_number
from tests.cases.world import TAISHAN_VILLAGE, apply, follow_engine, make_world, member
from tests.pdf import pdf_fonts, pdf_text


def _id(year: int, seq: int, sex: str = "M", area: str = "370784") -> str:
    return build_id_number(area, date(year, 3, 1), seq, sex)


def _act(db: Session, actor, case, key: str, today: date, action: str = "complete", **data):  # type: ignore[no-untyped-def]
    return steps.act(db, actor=actor, case_id=case.id, step_key=key, action=action, data=data,
                     version=case.version, today=today)


def _utc(t: datetime | None) -> datetime:
    assert t is not None
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite hands back naive UTC times


def _opinion(program: str, decision: str, amount: str = "", reasons: str = "") -> dict[str, Any]:
    return {"opinions": {program: {"decision": decision, "monthly_amount": amount, "reasons": reasons}}}


def _approve_all(case, amounts: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"opinions": {p: {"decision": "approve", "monthly_amount": amounts.get(p, "0")} for p in case.programs}}


def test_dibao_approved_by_the_township(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[
        member("王大山", _id(1976, 11), "head", "300", employment="farming"),
        member("李小梅", _id(1979, 12, "F"), "spouse")])
    # 安丘 delegated approval since 2020-12-01 and dropped 公示 at review; 20 working days from Monday 2 Nov.
    assert case.delegated and case.due_on == date(2026, 11, 30)
    assert [s.key for s in case.steps] == ["accept", "investigation_start", "home_visit", "verification",
                                           "first_review", "confirmation", "decision"]
    # (537 − (300 − 200) / 2) × 2 = 974
    assert cast(Any, case.proposed)["programs"]["dibao"]["monthly_amount"] == 974.0
    assert case.steps[1].due_on == date(2026, 11, 5)  # Art. 15: three working days
    _act(db, staff.worker, case, "investigation_start", date(2026, 11, 3))
    with pytest.raises(ValidationFailed):  # Art. 16: at least two investigators
        _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["王调查"], findings="x")
    _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["王调查", "李调查"],
         investigator_ids=[staff.worker.user_id], findings="两间平房，家具简陋，以务农为生")
    with pytest.raises(PermissionDenied):  # verification is the county's step
        _act(db, staff.worker, case, "verification", date(2026, 11, 5), conclusion="consistent")
    _act(db, staff.verifier, case, "verification", date(2026, 11, 6), conclusion="consistent")
    _act(db, staff.worker, case, "first_review", date(2026, 11, 9), **_opinion("dibao", "approve", "974"))
    with pytest.raises(PermissionDenied):  # caseworkers cannot confirm
        _act(db, staff.worker, case, "confirmation", date(2026, 11, 10), **_opinion("dibao", "approve", "974"))
    with pytest.raises(Conflict):  # a stale view of the case is refused
        steps.act(db, actor=staff.approver, case_id=case.id, step_key="confirmation", action="complete",
                  data=_opinion("dibao", "approve", "974"), version=case.version - 1, today=date(2026, 11, 10))
    _act(db, staff.approver, case, "confirmation", date(2026, 11, 10), **_opinion("dibao", "approve", "974"))
    _act(db, staff.approver, case, "decision", date(2026, 11, 10))
    assert case.status == "decided"
    e = db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).one()
    # Art. 21: paid from the month after the decision; Art. 31: half-yearly review (working-age, farming)
    assert (e.program, e.monthly_amount, e.start_month) == ("dibao", Decimal("974.00"), date(2026, 12, 1))
    assert (e.review_cycle_months, e.next_review_on) == (6, date(2027, 6, 1))
    notice = db.scalars(select(Notice).where(Notice.case_id == case.id)).one()
    assert notice.kind == "approval" and cast(Any, notice.content)["items"][0]["amount"] == "974.00"
    pdf = notices.render_pdf(notice)
    text = pdf_text(pdf)
    assert "社会救助审核确认通知书" in text.replace(" ", "") and "974.00" in text and "王大山" in text
    assert notice.issued_on == date(2026, 11, 10) and "2026-11-10" in text
    assert any("CJK" in f for f in pdf_fonts(pdf))  # a real CJK font, not empty boxes
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "case",
                                                              AuditEntry.object_id == str(case.id))))
    assert {"case.accept", "case.step.home_visit", "case.step.confirmation", "enrollment.create"} <= actions


def test_separation_of_duties_blocks_the_investigator(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[member("赵一", _id(1980, 21), "head", "100")])
    _act(db, staff.worker, case, "investigation_start", date(2026, 11, 3))
    _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["赵", "钱"],
         investigator_ids=[staff.approver.user_id], findings="实地查看")
    _act(db, staff.verifier, case, "verification", date(2026, 11, 5), conclusion="consistent")
    _act(db, staff.worker, case, "first_review", date(2026, 11, 6), **_opinion("dibao", "approve", "437"))
    with pytest.raises(PermissionDenied, match="职责分离"):
        _act(db, staff.approver, case, "confirmation", date(2026, 11, 9), **_opinion("dibao", "approve", "437"))
    _act(db, staff.county, case, "confirmation", date(2026, 11, 9), **_opinion("dibao", "approve", "437"))
    assert case.decisions[0].outcome == "approved"


def test_extreme_poverty_with_county_spot_check(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[
        member("孙老汉", _id(1946, 31), "head", self_care_unable_items=2, labour_capacity="none",
               supporters_elsewhere_able=0, supporters_elsewhere_unable=0, support_mode="dispersed")])
    assert "extreme_poverty" in case.programs and "dibao" not in case.programs  # mutual exclusion
    # Living alone, no legal supporter elsewhere (recorded): no capable supporter, said as a fact.
    codes = {r["code"] for r in cast(Any, case.proposed)["programs"]["extreme_poverty"]["reasons"]}
    assert "no_capable_supporter" in codes and "supporter_elsewhere_unrecorded" not in codes
    ep = cast(Any, case.proposed)["programs"]["extreme_poverty"]["members"][0]
    # rural basic 960 + partial-care 200 = 1,160 yuan; 1–3 items unable = partial; 安丘 16 care hours
    assert (ep["care_level"], ep["care_hours_per_month"], ep["monthly_amount"]) == ("partial", 16, 1160.0)
    # 特困认定办法 Art. 13: investigation and first review within 15 working days of 2 Nov = 23 Nov
    _act(db, staff.worker, case, "investigation_start", date(2026, 11, 3))
    assert case.steps[2].key == "home_visit" and case.steps[2].due_on == date(2026, 11, 23)
    _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["甲", "乙"], findings="独居")
    _act(db, staff.verifier, case, "verification", date(2026, 11, 5), conclusion="consistent")
    _act(db, staff.worker, case, "first_review", date(2026, 11, 6), **_opinion("extreme_poverty", "approve", "1160"))
    _act(db, staff.approver, case, "confirmation", date(2026, 11, 9), **_opinion("extreme_poverty", "approve", "1160"))
    spot = next(s for s in case.steps if s.key == "spot_check")
    assert spot.status == "active" and spot.level == "county"  # the county's first 特困 case this year is sampled
    with pytest.raises(PermissionDenied):
        _act(db, staff.approver, case, "spot_check", date(2026, 11, 10), result="upheld")
    _act(db, staff.county, case, "spot_check", date(2026, 11, 10), result="upheld")
    _act(db, staff.approver, case, "decision", date(2026, 11, 11))
    e = db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).one()
    assert (e.program, e.monthly_amount, e.start_month) == ("extreme_poverty", Decimal("1160.00"), date(2026, 12, 1))


def test_emergency_grant_paid_within_24_hours(db: Session) -> None:
    staff = make_world(db)
    need = {"kind": "emergency", "amount": "800", "reason": "房屋失火，生活用品全部烧毁"}
    case = apply(db, staff.worker, on=clock.today(), need=need,
                 members=[member("周火", _id(1985, 41), "head", "1500", employment="employed")], programs=[])
    assert case.kind == "emergency"
    assert [s.key for s in case.steps] == ["accept", "emergency_grant", "payment"]
    grant_step = case.steps[1]
    assert grant_step.due_at is not None
    _act(db, staff.approver, case, "emergency_grant", clock.today(), amount="800")
    grant = db.scalars(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id)).one()
    assert (grant.approval_level, grant.fund) == ("township", "township_reserve")  # 800 < 1,000 (安丘)
    with pytest.raises(PermissionDenied, match="批准本笔临时救助金的人员不能发放"):  # grant and payment apart
        _act(db, staff.approver, case, "payment", clock.today(), method="cash")
    _act(db, staff.county, case, "payment", clock.today(), method="cash")
    assert grant.paid_at is not None and grant.payment_due_at is not None
    accepted_at, due, paid = (_utc(t) for t in (case.steps[0].completed_at, grant.payment_due_at, grant.paid_at))
    assert (due - accepted_at).total_seconds() == 24 * 3600  # 安丘: within 24 hours of acceptance
    assert paid <= due and case.steps[2].outcome == "paid"
    task = db.scalars(select(Task).where(Task.case_id == case.id)).one()
    assert task.kind == "paperwork" and task.status == "open"  # paperwork follows the payment
    assert case.status == "decided"


def test_emergency_above_the_township_limit_goes_to_the_county(db: Session) -> None:
    staff = make_world(db)
    need = {"kind": "emergency", "amount": "1500", "reason": "突发重病住院"}
    case = apply(db, staff.worker, on=clock.today(), need=need, members=[member("吴病", _id(1970, 51), "head")])
    # No income: the household may also qualify for 低保, which continues in a linked standard case.
    assert case.kind == "emergency" and case.programs == ["temporary_assistance"]
    sibling = db.get(Case, case.linked_case_id)
    assert sibling is not None and "dibao" in sibling.programs and sibling.status == "open"
    with pytest.raises(PermissionDenied, match="乡镇审批额度"):
        _act(db, staff.approver, case, "emergency_grant", clock.today(), amount="1500")
    # County cap = 537 yuan × 6 months = 3,222 yuan; 1,500 is within it.
    _act(db, staff.county, case, "emergency_grant", clock.today(), amount="1500")
    grant = db.scalars(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id)).one()
    assert grant.approval_level == "county"


def test_emergency_above_the_county_cap_needs_a_collective_decision(db: Session) -> None:
    staff = make_world(db)
    need = {"kind": "emergency", "amount": "5000", "reason": "泥石流冲毁房屋"}
    case = apply(db, staff.worker, on=clock.today(), need=need,
                 members=[member("郑灾", _id(1972, 61), "head", "2000", employment="employed")])
    with pytest.raises(ValidationFailed, match="一事一议"):  # 5,000 > 3,222 yuan
        _act(db, staff.county, case, "emergency_grant", clock.today(), amount="5000")
    _act(db, staff.county, case, "emergency_grant", clock.today(), amount="5000", meeting_on="2026-11-29",
         participants=["局长", "分管副局长", "救助科长"])
    grant = db.scalars(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id)).one()
    assert grant.approval_level == "case_by_case" and len(cast(list[str], grant.collective["participants"])) == 3


def test_objection_during_publicity_starts_a_new_round(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.js_worker, area=TAISHAN_VILLAGE, on=date(2026, 11, 2), members=[
        member("陈阿华", _id(1975, 71, area="440781"), "head", "200", employment="farming")])
    assert not case.delegated and "publicity" in [s.key for s in case.steps]  # 江门: county confirms, 公示 kept
    assert "relative_poverty" in case.programs  # 两线合一: a 低保 household is also identified as relatively poor
    _act(db, staff.js_worker, case, "investigation_start", date(2026, 11, 3))
    _act(db, staff.js_worker, case, "home_visit", date(2026, 11, 4), investigators=["甲", "乙"], findings="住房简陋")
    _act(db, staff.js_county, case, "verification", date(2026, 11, 5), conclusion="consistent")
    _act(db, staff.js_worker, case, "first_review", date(2026, 11, 6), **_approve_all(case, {"dibao": "650"}))
    publicity = next(s for s in case.steps if s.key == "publicity")
    assert publicity.due_on == date(2026, 11, 13)  # Art. 19: seven days from 6 Nov
    with pytest.raises(Conflict, match="届满"):
        _act(db, staff.js_worker, case, "publicity", date(2026, 11, 10), action="close")
    _act(db, staff.js_worker, case, "publicity", date(2026, 11, 10), action="objection",
         content="邻居反映其子在外务工收入较高", resolution="reinvestigate")
    keys = [(s.key, s.round, s.status) for s in case.steps]
    assert ("publicity", 1, "done") in keys and ("home_visit", 2, "active") in keys
    assert ("first_review", 2, "waiting") in keys and ("publicity", 2, "waiting") in keys
    _act(db, staff.js_worker, case, "home_visit", date(2026, 11, 11), investigators=["丙", "丁"],
         findings="其子已另立户口，未共同生活")
    _act(db, staff.js_worker, case, "first_review", date(2026, 11, 12), **_approve_all(case, {"dibao": "650"}))
    _act(db, staff.js_worker, case, "publicity", date(2026, 11, 19), action="close")  # 12 Nov + 7 days
    with pytest.raises(PermissionDenied):  # 江门 has not delegated: the township cannot confirm
        _act(db, staff.js_worker, case, "confirmation", date(2026, 11, 20), **_approve_all(case, {"dibao": "650"}))
    _act(db, staff.js_county, case, "confirmation", date(2026, 11, 20), **_approve_all(case, {"dibao": "650"}))
    _act(db, staff.js_county, case, "decision", date(2026, 11, 20))
    assert case.status == "decided" and case.decisions[0].outcome == "approved"


def test_rejection_with_reasons_and_notice_deadline(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[
        member("钱多", _id(1980, 81), "head", "4800", employment="employed")])
    assert cast(Any, case.proposed)["programs"]["dibao"]["eligible"] is False
    _act(db, staff.worker, case, "investigation_start", date(2026, 11, 3))
    _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["甲", "乙"], findings="有稳定工作")
    _act(db, staff.verifier, case, "verification", date(2026, 11, 5), conclusion="consistent")
    with pytest.raises(ValidationFailed, match="理由"):
        _act(db, staff.worker, case, "first_review", date(2026, 11, 6), **_opinion("dibao", "reject"))
    reason = "家庭人均收入 4,600 元高于低保标准 537 元"
    _act(db, staff.worker, case, "first_review", date(2026, 11, 6), **_opinion("dibao", "reject", reasons=reason))
    _act(db, staff.approver, case, "confirmation", date(2026, 11, 9), **_opinion("dibao", "reject", reasons=reason))
    _act(db, staff.approver, case, "decision", date(2026, 11, 9))
    d = case.decisions[0]
    assert d.outcome == "rejected" and d.notice_due_on == date(2026, 11, 12)  # Art. 21: 3 working days
    notice = db.scalars(select(Notice).where(Notice.case_id == case.id)).one()
    assert notice.kind == "rejection" and reason in cast(Any, notice.content)["items"][0]["reasons"]
    notices.mark_served(db, actor=staff.approver, notice_id=notice.id, on=date(2026, 11, 11))
    assert notice.served_on == date(2026, 11, 11)
    with pytest.raises(Conflict):
        notices.mark_served(db, actor=staff.approver, notice_id=notice.id, on=date(2026, 11, 12))
    assert not db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).all()


def test_gradual_exit_then_termination(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[member("刘工", _id(1982, 91), "head", "100")])
    for key, actor, data in [
        ("investigation_start", staff.worker, {}),
        ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "无业"}),
        ("verification", staff.verifier, {"conclusion": "consistent"}),
        ("first_review", staff.worker, _opinion("dibao", "approve", "537")),
        ("confirmation", staff.approver, _opinion("dibao", "approve", "537")),
        ("decision", staff.approver, {}),
    ]:
        _act(db, actor, case, key, date(2026, 11, 10), **cast(dict[str, Any], data))
    e = db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).one()
    with pytest.raises(ValidationFailed, match="6"):  # 2022 通知: at most 6 months
        enrollments.review(db, actor=staff.approver, enrollment_id=e.id, version=e.version, outcome="gradual_exit",
                           reason="就业", months=7, today=date(2027, 1, 10))
    enrollments.review(db, actor=staff.approver, enrollment_id=e.id, version=e.version, outcome="gradual_exit",
                       reason="本人在县城就业，月收入 2,600 元，家庭人均收入超过低保标准", months=6,
                       today=date(2027, 1, 10))
    assert (e.status, e.gradual_exit_until) == ("gradual_exit", date(2027, 8, 1))  # from Feb, 6 months
    assert e.monthly_amount == Decimal("537.00")  # still paid during the grace period
    enrollments.finalize_due(db, actor=staff.approver, today=date(2027, 8, 1))
    assert e.status == "gradual_exit"  # the exit now goes through a 7-day termination 公示
    enrollments.finalize_due(db, actor=staff.approver, today=date(2027, 8, 8))
    assert e.status == "gradual_exit"  # 公示 until 8 Aug inclusive
    enrollments.finalize_due(db, actor=staff.approver, today=date(2027, 8, 9))
    assert (e.status, e.end_month) == ("terminated", date(2027, 9, 1))  # stopped from the next month
    titles = [n.content["title"] for n in enrollments.notices_of(db, enrollment=e)]
    assert titles == ["社会救助停发告知书", "最低生活保障渐退告知书"]  # each change with a reasoned notice
    text = pdf_text(notices.render_pdf(enrollments.notices_of(db, enrollment=e)[1]))
    assert "本人在县城就业" in text and "2027-08" in text
    with pytest.raises(Conflict):
        enrollments.review(db, actor=staff.approver, enrollment_id=e.id, version=e.version, outcome="increase",
                           reason="x", new_amount="600", today=date(2027, 9, 1))


def test_expenditure_aid_is_confirmed_at_the_level_its_amount_needs(db: Session) -> None:
    staff = make_world(db)
    # Proposed: 800 yuan of need → 640 yuan (80% cover for need ≤ 3 months of the standard) < 1,000 → township.
    need = {"kind": "expenditure", "amount": "800", "reason": "子女大学学费"}
    case = apply(db, staff.worker, on=date(2026, 11, 2), need=need, members=[
        member("学费", _id(1975, 95), "head", "600", employment="farming"), member("学生", _id(2006, 96), "child")])
    assert "temporary_assistance" in case.programs and "publicity" in [s.key for s in case.steps]  # Art. 48
    opinions = follow_engine(case, {"temporary_assistance": "1500"})
    assert opinions["opinions"]["temporary_assistance"]["decision"] == "approve"
    for key, actor, data, on in [
        ("investigation_start", staff.worker, {}, date(2026, 11, 3)),
        ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "学费单据属实"}, date(2026, 11, 4)),
        ("verification", staff.verifier, {"conclusion": "consistent"}, date(2026, 11, 5)),
        ("first_review", staff.worker, opinions, date(2026, 11, 6)),
    ]:
        _act(db, actor, case, key, on, **cast(dict[str, Any], data))
    _act(db, staff.worker, case, "publicity", date(2026, 11, 13), action="close")  # 6 Nov + 7 days
    assert next(s for s in case.steps if s.key == "confirmation").level == "township"
    # But 1,500 yuan is granted in the end: above 安丘's 1,000-yuan township limit, so only the county may confirm.
    with pytest.raises(PermissionDenied, match="乡镇审批额度"):
        _act(db, staff.approver, case, "confirmation", date(2026, 11, 16), **opinions)
    _act(db, staff.county, case, "confirmation", date(2026, 11, 16), **opinions)
    grant = db.scalars(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id)).one()
    assert (grant.amount, grant.approval_level) == (Decimal("1500.00"), "county")


def test_at_least_thirty_percent_of_extreme_poverty_cases_are_spot_checked(db: Session) -> None:
    staff = make_world(db)
    sampled = []
    for i in range(10):
        case = apply(db, staff.worker, on=date(2026, 11, 2), members=[
            member(f"老人{i}", _id(1944, 200 + i * 2), "head", self_care_unable_items=0, labour_capacity="none",
                   supporters_elsewhere_able=0)])
        opinions = {"opinions": {p: {"decision": "approve", "monthly_amount": "960"} for p in case.programs}}
        for key, actor, data in [("investigation_start", staff.worker, {}),
                                 ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "独居"}),
                                 ("verification", staff.verifier, {"conclusion": "consistent"}),
                                 ("first_review", staff.worker, opinions), ("confirmation", staff.approver, opinions)]:
            _act(db, actor, case, key, date(2026, 11, 5), **cast(dict[str, Any], data))
        spot = next(s for s in case.steps if s.key == "spot_check")
        sampled.append(spot.status == "active")
        assert spot.status in {"active", "skipped"}
    # 特困人员认定办法 Art. 16: not less than 30% — ceil(0.3 × 10) = 3 of 10, whatever the random draws.
    assert sum(sampled) >= 3 and sampled[0]
