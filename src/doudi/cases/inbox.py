"""The inbox: every active step the user can act on, sorted by due date, with near-due and overdue flags,
plus overdue work of the people they supervise (escalation) and open follow-up tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, and_, cast, func, or_, select
from sqlalchemy.orm import Session, defer, lazyload

from doudi.auth.models import User
from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStatus, CaseStep, Task, TaskStatus
from doudi.cases.procedure import rules_for
from doudi.cases.steps import STEP_ACTION
from doudi.core import clock


@dataclass
class InboxRow:
    """One line of the inbox."""

    case_id: int
    case_no: str
    applicant: str
    area_code: str
    step: str
    step_label: str
    due_on: date | None
    due_at: datetime | None
    state: str  # ok | near | overdue
    escalated: bool
    programs: list[str]


# A case on a list: without its JSON declaration and assessment, and without select-in loading its steps and
# decisions (the lists show the case's number, applicant and dates).
CASE_ON_A_LIST = (defer(Case.proposed), defer(Case.declared), lazyload(Case.steps), lazyload(Case.decisions))

overdue_clause = svc.overdue_clause  # one definition of "overdue" (cases.service.overdue_steps)


# The columns an inbox line shows: plain rows, not cases with their steps and decisions loaded.
ROW_COLUMNS = (Case.id, Case.case_no, Case.applicant_name, Case.area_code, Case.programs, CaseStep.key,
               CaseStep.level, CaseStep.due_on, CaseStep.due_at)


def effective_due() -> Any:
    """The day a step is due, whether it has a date or an hour-level deadline."""
    return func.coalesce(CaseStep.due_on, cast(CaseStep.due_at, Date))


def _actionable_keys(actor: Actor) -> list[str]:
    return [k for k, action in STEP_ACTION.items() if actor.can(action)]


def _state(due_on: date | None, due_at: datetime | None, today: date, near: date, now: datetime) -> str:
    if due_at is not None:
        at = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
        if at < now:
            return "overdue"
        return "near" if (at - now).total_seconds() < 6 * 3600 else "ok"
    if due_on is None:
        return "ok"
    if due_on < today:
        return "overdue"
    return "near" if due_on <= near else "ok"


def inbox(session: Session, *, actor: Actor, today: date | None = None, page: int = 1, per_page: int = 50,
          only: str = "") -> tuple[list[InboxRow], int, dict[str, int]]:
    """A page of inbox rows (most urgent first), the total, and counts by state."""
    actor.require("case.read")
    today = today or clock.today()
    now = datetime.now(UTC)
    calendar = svc.calendar_for(actor.area_code)
    near = calendar.add_workdays(today, int(_near_days(actor, today)))
    keys = _actionable_keys(actor)
    county_level = county_or_above(actor)
    mine = CaseStep.key.in_(keys) if county_level else and_(CaseStep.key.in_(keys), CaseStep.level != "county")
    late = overdue_clause(today, now)
    supervised = select(User.id).where(User.supervisor_id == actor.user_id) if actor.user_id else None
    escalated = and_(late, Case.assignee_id.in_(supervised)) if supervised is not None else None
    if actor.can("case.escalate"):  # county officers see every overdue step in their area
        esc_any = late
        escalated = or_(escalated, esc_any) if escalated is not None else esc_any
    visible = or_(mine, escalated) if escalated is not None else mine
    near_clause = and_(CaseStep.due_on >= today, CaseStep.due_on <= near)
    steps = svc.scoped(select(*ROW_COLUMNS).join(Case, Case.id == CaseStep.case_id), actor).where(
        *svc.waiting_clauses())
    # One pass over the area's waiting steps gives all three counts: the user's steps, those near their due date,
    # and every overdue step in the area whoever it waits for (cases.service.overdue_steps: the same steps the
    # workbench card and the case list's 仅超时 filter count).
    counts_stmt = svc.scoped(select(
        func.count().filter(and_(visible, near_clause)),
        func.count().filter(visible),
        func.count().filter(late),
    ).select_from(CaseStep).join(Case, Case.id == CaseStep.case_id), actor).where(*svc.waiting_clauses())
    # Both statements select plain columns: executed on the session's connection, without the ORM's result
    # machinery, which cost as much again as the SQL's own work for an inbox page.
    conn = session.connection()
    near_n, total_all, overdue_n = conn.execute(counts_stmt).one()
    # Each filter's total is one of those counts, so the page needs no count query of its own.
    if only == "overdue":  # those of others are marked as such
        base, total = steps.where(late), overdue_n
    elif only == "near":
        base, total = steps.where(visible, near_clause), near_n
    else:
        base, total = steps.where(visible), total_all
    # Hour-level deadlines (emergency aid) sort by their day, so they are not pushed below dated work.
    ordered = base.order_by(effective_due(), CaseStep.due_at, Case.id)
    rows = conn.execute(ordered.limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    out = []
    for r in rows:
        is_mine = r.key in keys and (r.level != "county" or county_level)
        out.append(InboxRow(r.id, r.case_no, r.applicant_name, r.area_code, r.key, svc.label(r.key), r.due_on,
                            r.due_at, _state(r.due_on, r.due_at, today, near, now), not is_mine, list(r.programs)))
    return out, int(total), {"overdue": int(overdue_n), "near": int(near_n), "all": int(total_all)}


def _near_days(actor: Actor, today: date) -> Any:
    return rules_for(actor.area_code, today).near_due_workdays


def open_tasks(session: Session, *, actor: Actor, limit: int | None = 50, case_id: int | None = None
               ) -> list[tuple[Task, Case]]:
    """Open follow-up tasks in the actor's area (of one case, when given), earliest due first."""
    actor.require("case.read")
    stmt = svc.scoped(select(Task, Case).join(Case, Case.id == Task.case_id), actor).where(
        Task.status == TaskStatus.OPEN)
    if case_id is not None:
        stmt = stmt.where(Task.case_id == case_id)
    return [(t, c) for t, c in session.execute(stmt.options(*CASE_ON_A_LIST).order_by(Task.due_on).limit(limit)).all()]


def overdue_all(session: Session, *, actor: Actor, today: date | None = None, limit: int = 500) -> list[InboxRow]:
    """督办: every overdue active step in the actor's area, whoever it waits for (permission case.escalate)."""
    actor.require("case.escalate")
    today = today or clock.today()
    stmt = svc.scoped(select(*ROW_COLUMNS).join(Case, Case.id == CaseStep.case_id), actor).where(
        *svc.waiting_clauses(), overdue_clause(today, datetime.now(UTC)))
    rows = session.execute(stmt.order_by(effective_due(), CaseStep.due_at, Case.id).limit(limit)).all()
    return [InboxRow(r.id, r.case_no, r.applicant_name, r.area_code, r.key, svc.label(r.key), r.due_on, r.due_at,
                     "overdue", True, list(r.programs)) for r in rows]


def awaiting_acceptance(session: Session, *, actor: Actor, limit: int = 100) -> list[Case]:
    """Applications filed (online, by proxy or at the window) and not yet accepted, oldest first."""
    if not actor.can("case.accept"):
        return []
    stmt = svc.scoped(select(Case), actor).where(Case.status.in_([CaseStatus.SUBMITTED, CaseStatus.NEEDS_INFO]))
    return list(session.scalars(stmt.options(*CASE_ON_A_LIST).order_by(Case.submitted_at).limit(limit)))
