"""Decisions: approvals become enrollments paid from the next month; rejections get a reasoned notice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, Enrollment, TemporaryGrant
from doudi.cases.procedure import add_months, next_month
from doudi.registry.models import Household

ONE_OFF = {"temporary_assistance", "rigid_expense_hardship", "dibao_marginal"}  # no monthly payment


def review_cycle_months(household: Household, *, on: date, stable: int, irregular: int,
                        working_age: tuple[int, int]) -> int:
    """审核确认办法 Art. 31: yearly review for stable households, half-yearly where working-age members
    who can work have irregular income."""
    lo, hi = working_age
    for m in household.members:
        p = m.person
        if m.valid_to is not None or m.exclusion is not None or p.date_of_death is not None:
            continue
        age = on.year - p.birth_date.year - ((on.month, on.day) < (p.birth_date.month, p.birth_date.day))
        if lo <= age <= hi and p.labour_capacity != "none" and not p.student and p.employment in {
                "flexible", "farming", "unemployed", "employed"}:
            return irregular
    return stable


def issue_decision(session: Session, *, actor: Actor, case: Case, today: date) -> list[Enrollment]:
    """Turn confirmed program decisions into enrollments and notices."""
    rules = svc.rules(case)
    calendar = svc.calendar_for(case.area_code)
    hh = session.get(Household, case.household_id) if case.household_id else None
    created = []
    from doudi.cases.notices import generate_notice

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
        cycle = review_cycle_months(hh, on=today, stable=rules.review_stable_months,
                                    irregular=rules.review_irregular_months, working_age=_working_age(case, today))
        e = Enrollment(household_id=hh.id, person_id=d.person_id, area_code=hh.area_code, program=d.program,
                       status="active", monthly_amount=d.monthly_amount or Decimal(0), level=d.level,
                       start_month=start, review_cycle_months=cycle, next_review_on=add_months(start, cycle),
                       origin_case_id=case.id, version=1)
        session.add(e)
        created.append(e)
    session.flush()
    for e in created:
        svc.record(session, case, actor=actor, action="enrollment.create",
                   after={"program": e.program, "amount": str(e.monthly_amount), "start": e.start_month.isoformat()})
    approved = [d for d in case.decisions if d.outcome == "approved"]
    rejected = [d for d in case.decisions if d.outcome == "rejected"]
    if approved:
        generate_notice(session, case=case, kind="approval", actor=actor)
    if rejected:
        generate_notice(session, case=case, kind="rejection", actor=actor)
    parts = [f"同意 {d.program}（{d.monthly_amount} 元/月）" for d in approved] + \
            [f"不同意 {d.program}：{'；'.join(d.reasons)}" for d in rejected]
    svc.event(session, case, actor=actor, kind="decided", message="决定：" + "；".join(parts))
    return created


def _working_age(case: Case, on: date) -> tuple[int, int]:
    """Working age as the pack defines it for the labour-income rules."""
    from doudi.policy.params import load_pack

    pack = load_pack(case.area_code)
    lo, hi = pack.value("dibao.income.working_age_from", on=on), pack.value("dibao.income.working_age_to", on=on)
    return int(lo), int(hi)
