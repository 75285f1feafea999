"""Acting on a case's active step: one module per step, each registering its handler (see :mod:`.base`).

Each action checks role, scope, version, level and separation of duties before its handler runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, who_can
from doudi.auth.scope import county_or_above
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStatus, CaseStep
from doudi.cases.rules import DECISIONS, OBJECTION_BASIS
from doudi.cases.service import sample_for_spot_check
from doudi.cases.steps import (  # each module registers its handler on import
    collective_decision,
    confirmation,
    county_visit,
    decision,
    democratic_review,
    emergency_grant,
    first_review,
    home_visit,
    investigation_start,
    payment,
    publicity,
    spot_check,
    verification,
)
from doudi.cases.steps.base import (
    HANDLERS,
    STEP_ACTION,
    STEPS,
    Opinion,
    StepIn,
    decision_row,
    finish,
    handler,
    level_ok,
    parse_input,
)
from doudi.core import clock
from doudi.core.errors import Conflict

__all__ = ["DECISIONS", "HANDLERS", "OBJECTION_BASIS", "STEPS", "STEP_ACTION", "Opinion", "StepIn", "act",
           "decision_row", "finish", "handler", "may_act", "parse_input", "sample_for_spot_check", "waiting_for"]
_MODULES = (collective_decision, confirmation, county_visit, decision, democratic_review, emergency_grant,
            first_review, home_visit, investigation_start, payment, publicity, spot_check, verification)


def may_act(actor: Actor, step: CaseStep) -> bool:
    """True when the actor's roles and level let them act on the step (the form is shown only then)."""
    if not actor.can(STEP_ACTION.get(step.key, "case.review")):
        return False
    return step.level != "county" or county_or_above(actor)


def waiting_for(step: CaseStep) -> str:
    """Who the step waits for, in words: 等待县级民政部门的县级民政审核人办理."""
    who = who_can(STEP_ACTION.get(step.key, "case.review"))
    where = "县级民政部门的" if step.level == "county" else ""
    return f"等待{where}{who}办理“{svc.label(step.key)}”"


def act(session: Session, *, actor: Actor, case_id: int, step_key: str, action: str,
        data: StepIn | Mapping[str, Any], version: int | None, today: date | None = None) -> Case:
    """Perform `action` on the case's active step `step_key` with the step's typed input (a mapping is parsed
    into it); returns the case with the next step active."""
    today = today or clock.today()
    case = svc.get_case(session, actor=actor, case_id=case_id)
    actor.require(STEP_ACTION.get(step_key, "case.review"))  # permission first: a refusal says nothing of state
    svc.check_version(session, case, version)
    step = svc.active_step(case)
    if case.status != CaseStatus.OPEN or step is None or step.key != step_key:
        current = svc.label(step.key) if step else "无"
        raise Conflict(f"当前环节是“{current}”，不能办理“{svc.label(step_key)}”；请刷新页面")
    level_ok(actor, step)
    registered = STEPS.get(step.key)
    if registered is None:
        raise Conflict(f"“{svc.label(step.key)}”不能在此办理")
    registered.run(session, actor=actor, case=case, step=step, action=action, data=parse_input(step.key, data),
                   today=today)
    case.updated_at = svc.now()  # bumps the version even when only steps changed
    session.flush()
    return case
