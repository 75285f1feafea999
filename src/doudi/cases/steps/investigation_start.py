"""启动家庭经济状况调查: the plan and the investigators."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import finish, handler


@handler("investigation_start", permission="case.investigate")
def investigation_start(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                        data: dict[str, Any], today: date) -> None:
    planned = data.get("planned_visit_on") or today.isoformat()
    finish(session, actor, case, step, "started", {"planned_visit_on": planned,
                                                   "investigator_ids": data.get("investigator_ids", [])},
            f"已启动家庭经济状况调查，计划入户 {planned}", today)
