"""民主评议: participants and result."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import StepIn, bad, finish, handler


class DemocraticReviewIn(StepIn):
    """民主评议: who took part and what they concluded."""

    participants: list[str] = Field(default_factory=list, description="参加人员")
    result: str = Field(default="", description="评议结果")


@handler("democratic_review", permission="case.publicize", model=DemocraticReviewIn)
def democratic_review(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                      data: DemocraticReviewIn, today: date) -> None:
    participants = [p for p in data.participants if p.strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or not data.result.strip():
        raise bad("participants", f"民主评议须记录参加人员（至少 {least} 人）和评议结果")
    finish(session, actor, case, step, "reviewed", {"participants": participants, "result": data.result},
            "完成民主评议", today)
