"""Social-work support: a plan with goals and visits, a 社工+家政 training referral ending in a job, and the handover
to the 渐退 rules as a monitoring review (the enrollment itself untouched); enterprise pairing delivery and the
overdue pledges (late by the pack's 15 days or more)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.cases.models import Enrollment
from doudi.charity.support import flows, pairing, service
from doudi.charity.support.models import ItemStatus, PlanStatus
from doudi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from doudi.monitoring.models import MonitorWarning
from tests.charity.builders import open_need
from tests.factories import TOWN_A, VILLAGE_A1, VILLAGE_B1, make_areas, make_household, make_user

DAY = date(2026, 6, 15)


def _world(db: Session):  # type: ignore[no-untyped-def]
    make_areas(db)
    worker = auth.actor_for(make_user(db, "sw_worker", ["township_caseworker"], TOWN_A))
    approver = auth.actor_for(make_user(db, "sw_approver", ["township_approver"], TOWN_A))
    hh = make_household(db, VILLAGE_A1, head_name="刘芳", members=[("刘强", "child", date(2001, 3, 1), "M")])
    e = Enrollment(household_id=hh.id, area_code=hh.area_code, program="dibao", status="active",
                   monthly_amount=Decimal("600.00"), start_month=date(2025, 1, 1), version=1)
    db.add(e)
    db.flush()
    return worker, approver, hh, e


def test_plan_training_employment_hands_over_to_gradual_exit(db: Session) -> None:
    worker, approver, hh, e = _world(db)
    with pytest.raises(ValidationFailed):
        service.open_plan(db, actor=worker, household_id=hh.id, worker_name="李社工", goals=[], opened_on=DAY)
    with pytest.raises(PermissionDenied):  # the approver reads plans but does not run them
        service.open_plan(db, actor=approver, household_id=hh.id, worker_name="李社工",
                          goals=[("employment", "就业")], opened_on=DAY)
    plan = service.open_plan(db, actor=worker, household_id=hh.id, worker_name="李社工", opened_on=DAY,
                             goals=[("employment", "一名成员稳定就业"), ("health", "慢性病随访")],
                             need_id=open_need(db, hh, kind="jobs").id)
    with pytest.raises(Conflict, match="已有进行中的帮扶计划"):
        service.open_plan(db, actor=worker, household_id=hh.id, worker_name="王社工", opened_on=DAY,
                          goals=[("income", "增收")])
    goals = service.goals_of(db, plan.id)
    service.record_visit(db, actor=worker, plan_id=plan.id, version=plan.version, visited_on=DAY + timedelta(days=3),
                         visitor="李社工", notes="入户评估", progress={goals[1].id: ("open", "已联系家庭医生")},
                         today=DAY + timedelta(days=3))
    son = next(m.person_id for m in hh.members if m.relation == "child")
    t = service.refer_training(db, actor=worker, plan_id=plan.id, person_id=son, course="家政服务员",
                               referred_on=DAY + timedelta(days=5))
    with pytest.raises(ValidationFailed, match="用工单位和月工资"):
        flows.record_outcome(db, actor=worker, training_id=t.id, version=t.version, outcome="employed",
                             on=DAY + timedelta(days=40))
    t = flows.record_outcome(db, actor=worker, training_id=t.id, version=t.version, outcome="employed",
                             on=DAY + timedelta(days=40), employer="某家政公司", monthly_wage_fen=260_000)
    # the review is raised through the monitoring ledger: one open new_employment warning for the son
    w = db.get(MonitorWarning, t.review_warning_id)
    assert w is not None and w.rule_key == "new_employment" and w.subject_key == f"p{son}"
    assert w.household_id == hh.id and w.status == "new" and "渐退期" in w.reason and "2600.00" in w.reason
    db.refresh(e)
    assert e.status == "active" and e.version == 1  # the enrollment is the township's to change, not the plan's
    with pytest.raises(Conflict):  # the outcome is final
        flows.record_outcome(db, actor=worker, training_id=t.id, version=None, outcome="not_employed",
                             on=DAY + timedelta(days=41))
    # a second employed trainee of the same person would not open a second warning (one open per rule and subject)
    assert db.scalar(select(MonitorWarning.id).where(MonitorWarning.subject_key == f"p{son}")) == w.id
    service.close_plan(db, actor=worker, plan_id=plan.id, version=None, closure="就业目标达成",
                       closed_on=DAY + timedelta(days=60))
    assert service.get_plan(db, actor=approver, plan_id=plan.id).status == PlanStatus.CLOSED
    with pytest.raises(Conflict):
        service.record_visit(db, actor=worker, plan_id=plan.id, version=None, visited_on=DAY + timedelta(days=61),
                             visitor="李社工", notes="回访", today=DAY + timedelta(days=61))


def test_visit_overdue_uses_the_pack_interval() -> None:
    # interval 30 days (provisional pack value), 含本数: 30 days since the last visit is still on time, 31 is late
    assert not service.visit_overdue(date(2026, 5, 16), DAY - timedelta(days=90), area=VILLAGE_A1, today=DAY)
    assert service.visit_overdue(date(2026, 5, 15), DAY - timedelta(days=90), area=VILLAGE_A1, today=DAY)
    assert service.visit_overdue(None, date(2026, 5, 15), area=VILLAGE_A1, today=DAY)


def test_pairing_delivery_and_overdue_pledges(db: Session) -> None:
    worker, approver, hh, _ = _world(db)
    items = [pairing.ItemIn("goods", "米面油", date(2026, 5, 31), 30_000),  # 15 days late on 6-15: overdue
             pairing.ItemIn("cash", "慰问金", date(2026, 6, 1), 50_000),  # 14 days late: not yet
             pairing.ItemIn("job", "车间岗位", date(2026, 7, 1))]
    with pytest.raises(ValidationFailed, match="第 1 项的兑现日期须在帮扶期内"):
        pairing.sign(db, actor=worker, partner_key="co-1", company_name="某机械公司", household_id=hh.id,
                     pledge="就业与慰问", signed_on=DAY, start_on=date(2026, 6, 1), end_on=date(2026, 12, 31),
                     items=items)
    g = pairing.sign(db, actor=worker, partner_key="co-1", company_name="某机械公司", household_id=hh.id,
                     pledge="就业与慰问", signed_on=date(2026, 5, 1), start_on=date(2026, 5, 1),
                     end_on=date(2026, 12, 31), items=items)
    # cutoff 6-15 − 15 days = 5-31: items due on or before 5-31 and still pledged
    assert pairing.overdue_cutoff(hh.area_code, DAY) == date(2026, 5, 31)
    late = pairing.list_items(db, actor=approver, today=DAY, overdue=True)
    assert [it.description for it, _ in late.rows] == ["米面油"]
    first = late.rows[0][0]
    with pytest.raises(ValidationFailed):
        pairing.deliver(db, actor=worker, item_id=first.id, version=first.version, delivered_on=DAY, note="",
                        today=DAY)
    done = pairing.deliver(db, actor=worker, item_id=first.id, version=first.version, delivered_on=DAY,
                           note="已送达，户主签收", today=DAY)
    assert done.status == ItemStatus.DELIVERED
    with pytest.raises(Conflict):  # twice
        pairing.deliver(db, actor=worker, item_id=first.id, version=None, delivered_on=DAY, note="再次", today=DAY)
    assert pairing.list_items(db, actor=approver, today=DAY, overdue=True).total == 0
    # a day later the 慰问金 (due 6-01) is 15 days late
    assert [it.description for it, _ in pairing.list_items(db, actor=approver, today=DAY + timedelta(days=1),
                                                          overdue=True).rows] == ["慰问金"]
    assert pairing.end_due(db, actor=worker, today=date(2027, 1, 1)) == 1
    assert pairing.get_pairing(db, actor=approver, pairing_id=g.id).status == "ended"
    other = make_household(db, VILLAGE_B1)
    with pytest.raises(NotFound):  # another township's household
        pairing.sign(db, actor=worker, partner_key="co-2", company_name="某公司", household_id=other.id, pledge="x",
                     signed_on=DAY, start_on=DAY, end_on=DAY, items=[])
