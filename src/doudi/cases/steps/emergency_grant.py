"""先行救助审批: grant temporary aid within the township's limit (临时救助意见 二(二))."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.rules import COLLECTIVE_NEEDED, FUND_LABELS, approval_level
from doudi.cases.steps.base import OptAmount, OptDate, StepIn, decision_row, finish, handler, temporary_grant
from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.registry.models import Household


class EmergencyGrantIn(StepIn):
    """先行救助审批: the amount granted; above the county cap also the 一事一议 meeting."""

    amount: OptAmount = Field(default=None, description="批准金额（元，默认申请金额）")
    meeting_on: OptDate = Field(default=None, description="一事一议会议日期（超出县级额度时）")
    participants: list[str] = Field(default_factory=list, description="一事一议参加人员（超出县级额度时）")
    override_reason: str = Field(default="", description="与系统测算结果不一致时的理由")


@handler("emergency_grant", permission="case.confirm", model=EmergencyGrantIn)
def emergency_grant(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                    data: EmergencyGrantIn, today: date) -> None:
    grant = temporary_grant(session, case)
    amount = (data.amount if data.amount is not None else grant.amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise ValidationFailed([FieldError("amount", "金额须大于 0")])
    hh = session.get(Household, case.household_id) if case.household_id else None
    level = approval_level(case.area_code, hh.hukou_type if hh else "rural", amount, today)
    if level != "township" and not county_or_above(actor):
        raise PermissionDenied(f"{amount} 元超出乡镇审批额度，须报县级民政部门审批")
    if level == "case_by_case":
        participants = [p for p in data.participants if p.strip()]
        if len(participants) < svc.rules(case).min_review_participants or data.meeting_on is None:
            raise ValidationFailed([FieldError("participants", COLLECTIVE_NEEDED)])
        grant.collective = {"meeting_on": data.meeting_on.isoformat(), "participants": participants,
                            "decision": "approve"}
    grant.amount, grant.approval_level = amount, level
    grant.fund = "township_reserve" if level == "township" else "county"
    grant.approved_at, grant.approved_by = svc.now(), actor.user_id
    row = decision_row(case, "temporary_assistance")
    row.outcome, row.monthly_amount, row.decided_by, row.decided_on = "approved", amount, actor.user_id, today
    consistency.check_single_approval(case, row, {"override_reason": data.override_reason}, actor)
    payment = svc.step_named(case, "payment")
    finish(session, actor, case, step, "granted", {"amount": str(amount), "level": level},
                  f"先行救助：批准临时救助金 {amount} 元（{FUND_LABELS[level]}）",
                  today, overrides=consistency.overrides(case))
    if payment is not None and payment.due_at is not None:
        grant.payment_due_at = payment.due_at
