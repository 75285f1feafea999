"""决定与告知: turn the confirmed decisions into enrollments and notices."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.flows import issue_decision
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import StepIn, finish, handler


class DecisionIn(StepIn):
    """决定与告知: no fields; the confirmed decisions become enrollments and notices."""


@handler("decision", permission="case.decide", model=DecisionIn)
def decision(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
             data: DecisionIn, today: date) -> None:
    issue_decision(session, actor=actor, case=case, today=today)
    finish(session, actor, case, step, "issued", {}, "已作出决定并告知申请人", today)
