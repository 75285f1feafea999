"""Demo seed of support: one-to-one plans with visits and goals, a 社工+家政 trainee employed (raising the 渐退
review) and one not, and two pairing agreements, one with an item overdue."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.auth.scope import under
from doudi.cases.models import Enrollment
from doudi.charity.support import flows, pairing, service
from doudi.charity.support.models import Plan
from doudi.registry.models import Membership


def seed(session: Session, *, today: date, township: str) -> None:
    """Fill support for the demo township (idempotent)."""
    if session.scalar(under(select(Plan.id), Plan.area_code, township).limit(1)) is not None:
        return
    actor = system_actor(name="演示社工站")
    households = list(session.scalars(under(select(Enrollment.household_id), Enrollment.area_code, township)
                                      .where(Enrollment.status == "active", Enrollment.program == "dibao")
                                      .order_by(Enrollment.id.desc()).limit(4)))
    opened = today - timedelta(days=90)
    for i, hh in enumerate(households[:3]):
        plan = service.open_plan(session, actor=actor, household_id=hh, worker_name=["李社工", "王社工", "陈社工"][i],
                                 worker_phone="13800000000", partner_key="sg1001", opened_on=opened,
                                 goals=[("employment", "一名成员稳定就业"), ("income", "家庭月收入提高"),
                                        ("health", "慢性病规范随访")])
        goals = service.goals_of(session, plan.id)
        service.record_visit(session, actor=actor, plan_id=plan.id, version=plan.version,
                             visited_on=opened + timedelta(days=7), visitor=plan.worker_name,
                             notes="入户评估，制定计划",
                             progress={goals[2].id: ("open", "已联系家庭医生")}, today=today)
        if i == 2:
            continue  # no visit since: shown as overdue
        head = session.scalar(select(Membership.person_id).where(Membership.household_id == hh,
                                                                 Membership.valid_to.is_(None)).limit(1))
        if head is None:
            continue
        t = service.refer_training(session, actor=actor, plan_id=plan.id, person_id=head,
                                   course="家政服务员（育婴、养老护理）",
                                   referred_on=opened + timedelta(days=10), partner_key="px2001")
        if i == 0:
            t = flows.record_outcome(session, actor=actor, training_id=t.id, version=t.version, outcome="trained",
                                     on=opened + timedelta(days=40))
            flows.record_outcome(session, actor=actor, training_id=t.id, version=t.version, outcome="employed",
                                 on=today - timedelta(days=5), employer="某家政服务公司", monthly_wage_fen=260_000)
            service.record_visit(session, actor=actor, plan_id=plan.id, version=None,
                                 visited_on=today - timedelta(days=3),
                                 visitor=plan.worker_name, notes="已上岗，收入稳定",
                                 progress={goals[0].id: ("met", "家政公司签约上岗")}, today=today)
        else:
            flows.record_outcome(session, actor=actor, training_id=t.id, version=t.version, outcome="not_employed",
                                 on=today - timedelta(days=20))
    for j, hh in enumerate(households[:2]):
        start = today - timedelta(days=120)
        pairing.sign(session, actor=actor, partner_key=f"qy300{j + 1}",
                     company_name=["某机械制造有限公司", "某农产品合作社"][j], household_id=hh,
                     pledge=["提供一个就业岗位并每季度慰问", "每月供应米面油"][j], signed_on=start, start_on=start,
                     end_on=start + timedelta(days=365), items=[
                         pairing.ItemIn("goods", "米面油一批", start + timedelta(days=30), 30_000),
                         pairing.ItemIn("cash" if j else "job", "季度慰问金" if j else "车间辅助岗位",
                                        today - timedelta(days=20), 50_000 if j else 0),
                         pairing.ItemIn("service", "子女暑期辅导", today + timedelta(days=40), 0)])
    for it, _g in pairing.list_items(session, actor=actor, today=today, per_page=100).rows:
        if it.due_on <= today - timedelta(days=60):
            pairing.deliver(session, actor=actor, item_id=it.id, version=it.version, delivered_on=it.due_on,
                            note="已送达，户主签收", today=today)
