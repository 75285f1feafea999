"""Coordination across the cases services: a decision becomes enrollments, notices and the timeline entry.

Flows never commit; the route or command that calls them commits once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.consistency import check_consistent, override_record
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, Enrollment, EnrollmentStatus, TemporaryGrant
from doudi.cases.notices import generate_notice
from doudi.cases.procedure import add_months, next_month
from doudi.cases.rules import ONE_OFF, review_cycle_months
from doudi.registry.models import Household


def issue_decision(session: Session, *, actor: Actor, case: Case, today: date) -> list[Enrollment]:
    """Turn confirmed program decisions into enrollments and notices."""
    rules = svc.rules(case)
    calendar = svc.calendar_for(case.area_code)
    hh = session.get(Household, case.household_id) if case.household_id else None
    created = []
    check_consistent(case)
    for d in case.decisions:
        if d.outcome == "rejected":
            d.notice_due_on = calendar.add_workdays(d.decided_on or today, rules.rejection_notice_workdays)
            continue
        if d.outcome != "approved" or hh is None:
            continue
        if d.program == "temporary_assistance":
            grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
            if grant is not None and grant.approved_at is None:
                grant.approved_at, grant.approved_by = svc.now(), actor.user_id
            continue
        if d.program in ONE_OFF:
            continue
        start = next_month(d.decided_on or today)  # Art. 21: paid from the month after the decision
        cycle = review_cycle_months(case, d.program, default=rules.review_stable_months)
        e = Enrollment(household_id=hh.id, person_id=d.person_id, area_code=hh.area_code, program=d.program,
                       status=EnrollmentStatus.ACTIVE, monthly_amount=d.monthly_amount or Decimal(0), level=d.level,
                       start_month=start, review_cycle_months=cycle, next_review_on=add_months(start, cycle),
                       origin_case_id=case.id, version=1)
        session.add(e)
        created.append(e)
    session.flush()
    by_program = {d.program: d for d in case.decisions}
    for e in created:
        after: dict[str, Any] = {"program": e.program, "amount": str(e.monthly_amount),
                                 "start": e.start_month.isoformat()}
        if (override := override_record(by_program[e.program])) is not None:
            after["override"] = override
        svc.record(session, case, actor=actor, action="enrollment.create", after=after)
    approved = [d for d in case.decisions if d.outcome == "approved"]
    rejected = [d for d in case.decisions if d.outcome == "rejected"]
    if approved:
        generate_notice(session, case=case, kind="approval", actor=actor, today=today)
    if rejected:
        generate_notice(session, case=case, kind="rejection", actor=actor, today=today)
    parts = [f"同意{PROGRAM_LABELS.get(d.program, d.program)}（{d.monthly_amount} 元/月）" for d in approved] + \
            [f"不同意{PROGRAM_LABELS.get(d.program, d.program)}：{'；'.join(d.reasons)}" for d in rejected]
    svc.event(session, case, actor=actor, kind="decided", message="决定：" + "；".join(parts))
    return created
