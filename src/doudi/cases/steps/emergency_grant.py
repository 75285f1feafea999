"""先行救助审批: grant temporary aid within the township's limit (临时救助意见 二(二))."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.rules import COLLECTIVE_NEEDED, FUND_LABELS, approval_level
from doudi.cases.steps.base import decision_row, finish, handler, temporary_grant
from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.registry.models import Household


@handler("emergency_grant", permission="case.confirm")
def emergency_grant(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                    data: dict[str, Any], today: date) -> None:
    grant = temporary_grant(session, case)
    try:
        amount = Decimal(str(data.get("amount", grant.amount))).quantize(Decimal("0.01"))
    except Exception:
        raise ValidationFailed([FieldError("amount", "金额格式不正确")]) from None
    if amount <= 0:
        raise ValidationFailed([FieldError("amount", "金额须大于 0")])
    hh = session.get(Household, case.household_id) if case.household_id else None
    level = approval_level(case.area_code, hh.hukou_type if hh else "rural", amount, today)
    if level != "township" and len(actor.area_code) > 6 and not actor.system:
        raise PermissionDenied(f"{amount} 元超出乡镇审批额度，须报县级民政部门审批")
    if level == "case_by_case":
        participants = [p for p in data.get("participants", []) if str(p).strip()]
        if len(participants) < svc.rules(case).min_review_participants or not data.get("meeting_on"):
            raise ValidationFailed([FieldError("participants", COLLECTIVE_NEEDED)])
        grant.collective = {"meeting_on": data["meeting_on"], "participants": participants, "decision": "approve"}
    grant.amount, grant.approval_level = amount, level
    grant.fund = "township_reserve" if level == "township" else "county"
    grant.approved_at, grant.approved_by = svc.now(), actor.user_id
    row = decision_row(case, "temporary_assistance")
    row.outcome, row.monthly_amount, row.decided_by, row.decided_on = "approved", amount, actor.user_id, today
    consistency.check_single_approval(case, row, data, actor)
    payment = svc.step_named(case, "payment")
    finish(session, actor, case, step, "granted", {"amount": str(amount), "level": level},
                  f"先行救助：批准临时救助金 {amount} 元（{FUND_LABELS[level]}）",
                  today, overrides=consistency.overrides(case))
    if payment is not None and payment.due_at is not None:
        grant.payment_due_at = payment.due_at
