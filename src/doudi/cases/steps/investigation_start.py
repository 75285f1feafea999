"""启动家庭经济状况调查: the plan and the investigators."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import OptDate, StepIn, finish, handler


class InvestigationStartIn(StepIn):
    """启动调查: when the visit is planned and who investigates."""

    planned_visit_on: OptDate = Field(default=None, description="计划入户日期（默认今天）")
    investigator_ids: list[int] = Field(default_factory=list, description="调查人员（用户编号）")


@handler("investigation_start", permission="case.investigate", model=InvestigationStartIn)
def investigation_start(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                        data: InvestigationStartIn, today: date) -> None:
    planned = (data.planned_visit_on or today).isoformat()
    finish(session, actor, case, step, "started", {"planned_visit_on": planned,
                                                   "investigator_ids": data.investigator_ids},
            f"已启动家庭经济状况调查，计划入户 {planned}", today)
