"""审核确认: the decision per program, with separation of duties and the temporary-aid approval level."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above
from doudi.cases import consistency
from doudi.cases.models import Case, CaseStep, StepStatus, TemporaryGrant
from doudi.cases.rules import COLLECTIVE_NEEDED, approval_level
from doudi.cases.schemas import Program
from doudi.cases.steps.base import Opinion, StepIn, decision_row, finish, handler, read_opinions, separation, to_amount
from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.registry.models import Household


def _temporary_limit(session: Session, actor: Actor, case: Case, opinion: dict[str, Any], today: date) -> None:
    """暂行办法 Art. 48: the approval level follows the amount actually granted, not the one proposed."""
    amount = to_amount(opinion.get("monthly_amount") or 0, "opinions.temporary_assistance.monthly_amount")
    hh = session.get(Household, case.household_id) if case.household_id else None
    level = approval_level(case.area_code, hh.hukou_type if hh else "rural", amount, today)
    if level != "township" and not county_or_above(actor):
        raise PermissionDenied(f"临时救助 {amount} 元超出乡镇审批额度，须报县级民政部门审批")
    decided = any(s.key == "collective_decision" and s.status == StepStatus.DONE for s in case.steps)
    if level == "case_by_case" and not decided:
        raise ValidationFailed([FieldError("opinions.temporary_assistance.monthly_amount", COLLECTIVE_NEEDED)])
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is not None:
        grant.amount, grant.approval_level = amount, level


class ConfirmationIn(StepIn):
    """审核确认: the decision on each program applied for."""

    opinions: dict[Program, Opinion] = Field(default_factory=dict, description="每个项目的审核确认意见")


@handler("confirmation", permission="case.confirm", model=ConfirmationIn)
def confirmation(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: ConfirmationIn, today: date) -> None:
    separation(case, actor)
    opinions = read_opinions(case, data.opinions, "opinions")
    if opinions.get("temporary_assistance", {}).get("decision") == "approve":
        _temporary_limit(session, actor, case, opinions["temporary_assistance"], today)
    errors: list[FieldError] = []
    for program in case.programs:
        op = opinions[program]
        row = decision_row(case, program)
        row.outcome = "approved" if op["decision"] == "approve" else "rejected"
        if op.get("monthly_amount") not in (None, ""):
            row.monthly_amount = to_amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
        if op.get("reasons"):
            row.reasons = [str(op["reasons"])]
        errors += consistency.approval_problems(case, row, op, actor, f"opinions.{program}")
        row.decided_by, row.decided_on = actor.user_id, today
    if errors:
        raise ValidationFailed(errors)
    level = "乡镇人民政府" if step.level == "township" else "县级民政部门"
    finish(session, actor, case, step, "confirmed", {"opinions": opinions}, f"{level}作出审核确认意见", today,
            overrides=consistency.overrides(case))
