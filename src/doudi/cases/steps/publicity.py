"""公示: close after the period, or record an objection and start a new round (审核确认办法 Art. 19)."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, StepLevel, StepStatus
from doudi.cases.rules import OBJECTION_BASIS
from doudi.cases.steps.base import StepIn, bad, finish, handler
from doudi.core.errors import Conflict


class PublicityIn(StepIn):
    """公示: closing it (action `complete`) needs nothing; an objection (action `objection`) needs its content
    and how it is resolved."""

    resolution: str = Field(default="", description="reinvestigate 重新调查 | democratic_review 民主评议")
    content: str = Field(default="", description="异议内容")


@handler("publicity", permission="case.publicize", model=PublicityIn)
def publicity(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
              data: PublicityIn, today: date) -> None:
    if action == "objection":
        resolution = data.resolution
        if resolution not in {"reinvestigate", "democratic_review"}:
            raise bad("resolution", "公示异议的处理方式应为 重新调查 或 民主评议（审核确认办法第十九条）")
        if not data.content.strip():
            raise bad("content", "须记录异议内容")
        svc.complete(session, step, actor=actor, outcome="objection", data={"objection": data.model_dump(mode="json")})
        _new_round(session, case, step, resolution)
        svc.event(session, case, actor=actor, kind="objection",
                  message=f"公示期间收到异议，{'重新组织调查' if resolution == 'reinvestigate' else '开展民主评议'}")
        svc.record(session, case, actor=actor, action="case.objection", extra={"resolution": resolution})
        svc.activate_next(session, case, today=today)
        return
    assert step.due_on is not None
    if today < step.due_on:
        raise Conflict(f"公示期至 {step.due_on} 届满，届满前不能结束公示")
    finish(session, actor, case, step, "no_objection", {"closed_on": today.isoformat()}, "公示期满无异议", today)


def _new_round(session: Session, case: Case, publicity: CaseStep, resolution: str) -> None:
    """After an objection: re-investigate (or hold 民主评议), then a new first review and a new 公示."""
    later = [s for s in case.steps if s.seq > publicity.seq]
    redo = ["home_visit"] if resolution == "reinvestigate" else ["democratic_review"]
    redo += ["first_review", "publicity"]
    for s in later:
        s.seq += len(redo)
    for i, key in enumerate(redo):
        session.add(CaseStep(case_id=case.id, seq=publicity.seq + i + 1, key=key, round=publicity.round + 1,
                             level=StepLevel.TOWNSHIP, status=StepStatus.WAITING, basis=OBJECTION_BASIS))
    session.flush()
    session.refresh(case)
