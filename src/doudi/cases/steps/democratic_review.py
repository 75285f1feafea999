"""民主评议: participants and result."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import bad, finish, handler


@handler("democratic_review", permission="case.publicize")
def democratic_review(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                      data: dict[str, Any], today: date) -> None:
    participants = [p for p in data.get("participants", []) if str(p).strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or not str(data.get("result", "")).strip():
        raise bad("participants", f"民主评议须记录参加人员（至少 {least} 人）和评议结果")
    finish(session, actor, case, step, "reviewed", {"participants": participants, "result": data["result"]},
            "完成民主评议", today)
