"""Scheduled work of payments: the monthly rolls in their window (`doudi daily`) and the approval inbox."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, system_actor
from doudi.cases.models import Enrollment
from doudi.cases.notices import PROGRAM_LABELS
from doudi.core.dates import month_start
from doudi.payments import service
from doudi.policy.params import load_pack
from doudi.web.inbox_sources import InboxItem


def window(county: str, month: date) -> tuple[date, date]:
    """The first and last day (inclusive) of a month's roll window, from the pack."""
    w = load_pack(county).value("payments.roll_window", on=month) or {"from_day": 1, "to_day": 10}
    return month.replace(day=int(w["from_day"])), month.replace(day=int(w["to_day"]))


def paying_counties(session: Session) -> list[str]:
    """Counties with enrollments (the daily job runs for each)."""
    return sorted(c for c in session.scalars(select(func.substr(Enrollment.area_code, 1, 6)).distinct()) if c)


def generate_due(session: Session, *, actor: Actor, today: date) -> list[tuple[str, str, int, int]]:
    """Generate this month's rolls of every county whose window includes today: (county, program, lines,
    fen) for each roll made or found."""
    month = month_start(today)
    done = []
    for county in paying_counties(session):
        start, end = window(county, month)
        if not start <= today <= end:
            continue
        for program in load_pack(county).value("payments.paid_programs", on=month) or []:
            roll = service.generate_roll(session, actor=actor, county=county, month=month, program=program)
            done.append((county, program, roll.line_count, roll.total_fen))
    return done


def daily(session: Session, *, today: date) -> str:
    """`doudi daily`: the month's payment rolls, once its window opens."""
    done = generate_due(session, actor=system_actor(name="daily"), today=today)
    if not done:
        return f"发放：{today} 不在花名册生成期内，或无在保对象"
    lines = sum(d[2] for d in done)
    total = sum(d[3] for d in done)
    return f"发放：{len(done)} 份花名册（{today:%Y-%m}），共 {lines} 笔，{service.yuan(total)} 元，待审核"


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Draft rolls waiting for this actor's approval, due by the end of their window."""
    items = []
    for r in service.rolls_to_approve(session, actor=actor):
        due = window(r.area_code, r.month)[1]
        label = PROGRAM_LABELS.get(r.program, r.program)
        items.append(InboxItem(kind="发放", title=f"{r.month:%Y年%m月} {label} 花名册待审核（{r.line_count} 笔，"
                                                   f"{service.yuan(r.total_fen)} 元）",
                               url=f"/payments/rolls/{r.id}", due_on=due, overdue=today > due + timedelta(days=0)))
    return items
