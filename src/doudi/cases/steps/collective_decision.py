"""一事一议: the county coordination meeting's decision on temporary aid above the county cap."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, TemporaryGrant
from doudi.cases.rules import DECISIONS
from doudi.cases.steps.base import OptAmount, OptDate, StepIn, bad, decision_row, finish, handler, to_amount


class CollectiveDecisionIn(StepIn):
    """一事一议: the meeting, its participants, the decision and the amount granted."""

    meeting_on: OptDate = Field(default=None, description="会议日期")
    participants: list[str] = Field(default_factory=list, description="参加人员")
    decision: str = Field(default="", description="approve 同意 | reject 不同意")
    amount: OptAmount = Field(default=None, description="批准金额（元，默认申请金额）")
    override_reason: str = Field(default="", description="与系统测算结果不一致时的理由")


@handler("collective_decision", permission="case.confirm", model=CollectiveDecisionIn)
def collective_decision(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                        data: CollectiveDecisionIn, today: date) -> None:
    participants = [p for p in data.participants if p.strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or data.decision not in DECISIONS or data.meeting_on is None:
        raise bad("participants", f"一事一议须记录会议日期、参加人员（至少 {least} 人）和决定")
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is not None:
        grant.collective = {"meeting_on": data.meeting_on.isoformat(), "participants": participants,
                            "decision": data.decision,
                            "amount": str(data.amount if data.amount is not None else grant.amount)}
        if data.amount:
            grant.amount = to_amount(data.amount, "amount")
    row = decision_row(case, "temporary_assistance")
    row.outcome = "approved" if data.decision == "approve" else "rejected"
    row.monthly_amount = grant.amount if grant is not None else row.monthly_amount
    consistency.check_single_approval(case, row, {"override_reason": data.override_reason}, actor)
    row.decided_by, row.decided_on = actor.user_id, today
    finish(session, actor, case, step, data.decision, {"participants": participants,
                                                       "meeting_on": data.meeting_on.isoformat()},
            "县级困难群众基本生活保障工作协调机制“一事一议”作出决定", today, overrides=consistency.overrides(case))
