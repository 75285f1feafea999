"""县级入户核查: the county's own visit."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import StepIn, bad, finish, handler


class CountyVisitIn(StepIn):
    """县级入户核查: what the county's visit found."""

    findings: str = Field(default="", description="核查结论")


@handler("county_visit", permission="case.confirm", model=CountyVisitIn)
def county_visit(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: CountyVisitIn, today: date) -> None:
    if not data.findings.strip():
        raise bad("findings", "须填写县级入户核查结论")
    finish(session, actor, case, step, "visited", {"findings": data.findings}, "县级民政部门完成入户核查",
            today, public=False)
