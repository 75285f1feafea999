"""决定与告知: turn the confirmed decisions into enrollments and notices."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.flows import issue_decision
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import finish, handler


@handler("decision", permission="case.decide")
def decision(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
             data: dict[str, Any], today: date) -> None:
    issue_decision(session, actor=actor, case=case, today=today)
    finish(session, actor, case, step, "issued", {}, "已作出决定并告知申请人", today)
