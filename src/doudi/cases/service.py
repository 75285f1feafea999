"""Case queries and shared helpers: scoped lookup, lists, timeline, step activation. Nothing commits."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import Q, get_in_area, in_area, under
from doudi.cases.models import Case, CaseEvent, CaseStatus, CaseStep, StepStatus
from doudi.cases.procedure import OUTCOME_LABELS, STEP_LABELS, Rules, due_for, rules_for
from doudi.core import clock
from doudi.core.calendar import WorkCalendar
from doudi.db.versions import claim
from doudi.policy.calendar import calendar_for as cal


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def calendar_for(area_code: str) -> WorkCalendar:
    """The working-day calendar of an area (library data plus the pack's calendar data)."""
    return cal(area_code)


def scoped(stmt: Q, actor: Actor) -> Q:
    """Limit a case query to the actor's area subtree."""
    return in_area(stmt, Case.area_code, actor)


def overdue_clause(today: date, at: datetime) -> Any:
    """A step is overdue when its day has passed, or its hour-level deadline has."""
    return or_(CaseStep.due_on < today, CaseStep.due_at < at)


def overdue_steps(actor: Actor, *, today: date | None = None, at: datetime | None = None) -> Select[int, int]:
    """超时环节: the one definition the workbench card, the inbox and the case list's 仅超时 filter count — steps
    not done (active, of an open case) whose deadline has passed, in the actor's area. Selects (step id, case id)."""
    stmt = scoped(select(CaseStep.id, CaseStep.case_id).join(Case, Case.id == CaseStep.case_id), actor)
    return stmt.where(*waiting_clauses(), overdue_clause(today or clock.today(), at or now()))


def waiting_clauses() -> tuple[Any, ...]:
    """A step waiting for someone: active, of an open case (for a query joining steps to their case)."""
    return CaseStep.status == StepStatus.ACTIVE, Case.status == CaseStatus.OPEN


def overdue_counts(session: Session, *, actor: Actor, today: date | None = None) -> tuple[int, int]:
    """(overdue steps, cases they belong to) in the actor's area."""
    sub = overdue_steps(actor, today=today).subquery()
    steps, cases = session.execute(select(func.count(), func.count(func.distinct(sub.c.case_id))).select_from(
        sub)).one()
    return int(steps), int(cases)


def get_case(session: Session, *, actor: Actor, case_id: int, action: str = "case.read") -> Case:
    """A case in the actor's area, or NotFound (out-of-area cases look the same as missing ones)."""
    return get_in_area(session, Case, case_id, actor=actor, action=action, label="case")


def check_version(session: Session, case: Case, version: int | None) -> None:
    """Claim the case for this action (optimistic locking): refused when the user's view is outdated or
    another request is changing it right now; the version moves on once, whatever the action changes."""
    claim(session, case, version, label="该案件")


def event(session: Session, case: Case, *, actor: Actor | str, kind: str, message: str, public: bool = True,
          data: dict[str, Any] | None = None) -> CaseEvent:
    """Add a timeline entry (public ones are shown to the citizen)."""
    name = actor if isinstance(actor, str) else actor.username
    ev = CaseEvent(case_id=case.id, actor=name, kind=kind, message=message, public=public, data=data or {},
                   at=now())
    session.add(ev)
    return ev


def record(session: Session, case: Case, *, actor: Actor, action: str, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    """Audit a state change of a case."""
    audit.record(session, actor=actor, action=action, object_type="case", object_id=case.id,
                 area_code=case.area_code, before=before, after=after, extra=extra)


def rules(case: Case, on: date | None = None) -> Rules:
    """The procedure rules that govern this case (those in force when it was accepted)."""
    return rules_for(case.area_code, on or case.accepted_on or clock.today())


def active_step(case: Case) -> CaseStep | None:
    """The step waiting for action, if any."""
    return next((s for s in case.steps if s.status == StepStatus.ACTIVE), None)


def step_named(case: Case, key: str) -> CaseStep | None:
    """The latest-round step with that key."""
    found = [s for s in case.steps if s.key == key]
    return max(found, key=lambda s: (s.round, s.seq)) if found else None


def activate_next(session: Session, case: Case, *, today: date | None = None) -> CaseStep | None:
    """Make the next waiting step active and give it its due date; None when the procedure is finished."""
    nxt = next((s for s in sorted(case.steps, key=lambda s: s.seq) if s.status == StepStatus.WAITING), None)
    if nxt is None:
        return None
    today = today or clock.today()
    if nxt.key == "spot_check":  # 特困人员认定办法 Art. 16: only sampled cases are checked by the county
        selected = sample_for_spot_check(session, case, today)
        nxt.data = {"selected": selected}
        if not selected:
            nxt.status, nxt.outcome, nxt.completed_at = StepStatus.SKIPPED, "not_sampled", now()
            session.flush()
            return activate_next(session, case, today=today)
    r = rules(case)
    # Hour-level deadlines (emergency aid within 24 hours) run from the moment the application was accepted.
    accepted_at = next((s.completed_at for s in case.steps if s.key == "accept" and s.completed_at), None)
    due_on, due_at = due_for(nxt.key, activated=today, accepted=case.accepted_on or today,
                             case_due=case.extended_to or case.due_on or today, rules=r,
                             calendar=calendar_for(case.area_code), programs=list(case.programs),
                             now=accepted_at)
    nxt.status, nxt.started_at, nxt.due_on, nxt.due_at = StepStatus.ACTIVE, now(), due_on, due_at
    session.flush()
    return nxt


def complete(session: Session, step: CaseStep, *, actor: Actor, outcome: str, data: dict[str, Any]) -> None:
    """Mark a step done by the actor with its outcome and recorded data."""
    step.status, step.completed_at, step.performed_by = StepStatus.DONE, now(), actor.user_id
    step.outcome, step.data = outcome, {**(step.data or {}), **data}
    session.flush()


def outcome_label(outcome: str | None) -> str:
    """The Chinese words of a step's outcome."""
    return OUTCOME_LABELS.get(outcome or "", outcome or "")


def label(step_key: str) -> str:
    """The Chinese name of a step."""
    return STEP_LABELS.get(step_key, step_key)


@dataclass
class CaseFilter:
    """Case list criteria."""

    q: str = ""  # case number, applicant name or household number
    status: str = ""
    program: str = ""
    area_code: str = ""
    step: str = ""
    overdue: bool = False


def list_stmt(actor: Actor, f: CaseFilter, *, today: date | None = None) -> Select[Any]:
    """The filtered, scoped case query (shared by the list page and the Excel export)."""
    stmt = scoped(select(Case), actor)
    if f.q:
        stmt = stmt.where(or_(Case.case_no == f.q, Case.applicant_name.startswith(f.q)))
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.area_code:
        stmt = under(stmt, Case.area_code, f.area_code)
    if f.program:
        # JSON containment differs between SQLite and PostgreSQL; a LIKE on the serialised list works on both.
        stmt = stmt.where(cast(Case.programs, String).like(f'%"{f.program}"%'))
    if f.step:
        sub = select(CaseStep.case_id).where(CaseStep.status == StepStatus.ACTIVE)
        sub = sub.where(CaseStep.key == f.step)
        stmt = stmt.where(Case.id.in_(sub))
    if f.overdue:
        stmt = stmt.where(Case.id.in_(overdue_steps(actor, today=today).with_only_columns(CaseStep.case_id)))
    return stmt


def list_cases(session: Session, *, actor: Actor, filters: CaseFilter, page: int = 1,
               per_page: int = 20) -> tuple[list[Case], int]:
    """A page of cases in the actor's area, newest first, and the total."""
    actor.require("case.read")
    stmt = list_stmt(actor, filters)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(Case.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), int(total)


def timeline(session: Session, *, case: Case, public_only: bool = False) -> list[CaseEvent]:
    """The case's events, oldest first."""
    stmt = select(CaseEvent).where(CaseEvent.case_id == case.id)
    if public_only:
        stmt = stmt.where(CaseEvent.public.is_(True))
    return list(session.scalars(stmt.order_by(CaseEvent.at, CaseEvent.id)))


def sample_for_spot_check(session: Session, case: Case, today: date) -> bool:
    """Draw at random, but never let the county's share of checked 特困 cases this year fall below the minimum.

    The draw uses the operating system's randomness, so a township cannot work out in advance which of its
    cases will escape the check."""
    share = float(rules(case).spot_check_share)
    year_start = date(today.year, 1, 1)
    steps = under(select(CaseStep.status, CaseStep.outcome).join(Case, Case.id == CaseStep.case_id).where(
        CaseStep.key == "spot_check", Case.accepted_on >= year_start, CaseStep.case_id != case.id,
        CaseStep.status.in_([StepStatus.ACTIVE, StepStatus.DONE, StepStatus.SKIPPED])), Case.area_code,
        county_of(case.area_code))
    rows = session.execute(steps).all()
    total = len(rows) + 1
    chosen = sum(1 for status, outcome in rows if outcome != "not_sampled" and status != StepStatus.WAITING)
    if chosen < math.ceil(share * total):
        return True
    return secrets.SystemRandom().random() < share
