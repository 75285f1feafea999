"""一事一议: the county coordination meeting's decision on temporary aid above the county cap."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, TemporaryGrant
from doudi.cases.rules import DECISIONS
from doudi.cases.steps.base import bad, decision_row, finish, handler, to_amount


@handler("collective_decision", permission="case.confirm")
def collective_decision(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                        data: dict[str, Any], today: date) -> None:
    participants = [p for p in data.get("participants", []) if str(p).strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or data.get("decision") not in DECISIONS or not data.get("meeting_on"):
        raise bad("participants", f"一事一议须记录会议日期、参加人员（至少 {least} 人）和决定")
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is not None:
        grant.collective = {"meeting_on": data["meeting_on"], "participants": participants,
                            "decision": data["decision"], "amount": str(data.get("amount", grant.amount))}
        if data.get("amount"):
            grant.amount = to_amount(data["amount"], "amount")
    row = decision_row(case, "temporary_assistance")
    row.outcome = "approved" if data["decision"] == "approve" else "rejected"
    row.monthly_amount = grant.amount if grant is not None else row.monthly_amount
    consistency.check_single_approval(case, row, data, actor)
    row.decided_by, row.decided_on = actor.user_id, today
    finish(session, actor, case, step, data["decision"], {"participants": participants,
                                                           "meeting_on": data["meeting_on"]},
            "县级困难群众基本生活保障工作协调机制“一事一议”作出决定", today, overrides=consistency.overrides(case))
