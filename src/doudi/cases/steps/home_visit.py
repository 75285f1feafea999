"""入户调查: at least the pack's number of investigators, on site unless an emergency allows otherwise."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import OptDate, StepIn, bad, finish, handler


class HomeVisitIn(StepIn):
    """入户调查: the investigators, how the visit was made and what it found."""

    investigators: list[str] = Field(default_factory=list, description="调查人员姓名（至少两人）")
    investigator_ids: list[int] = Field(default_factory=list, description="调查人员（用户编号）")
    mode: str = Field(default="onsite", description="onsite 入户 | phone 电话 | video 视频")
    visit_on: OptDate = Field(default=None, description="入户日期（默认今天）")
    findings: str = Field(default="", description="调查结论")
    emergency: str = Field(default="", description="非接触方式调查时的重大突发事件")


@handler("home_visit", permission="case.investigate", model=HomeVisitIn)
def home_visit(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
               data: HomeVisitIn, today: date) -> None:
    rules = svc.rules(case)
    names = [n.strip() for n in data.investigators if n.strip()]
    if len(set(names)) < rules.min_investigators:
        raise bad("investigators", f"每组调查人员不得少于 {rules.min_investigators} 人（审核确认办法第十六条）")
    mode = data.mode
    if mode not in {"onsite", "phone", "video"}:
        raise bad("mode", "调查方式应为 入户/电话/视频")
    if mode != "onsite" and not data.emergency.strip():
        raise bad("emergency", "非接触方式调查仅限重大突发事件期间，须写明事件")
    if not data.findings.strip():
        raise bad("findings", "须填写调查结论")
    record = {"investigators": names, "investigator_ids": data.investigator_ids, "mode": mode,
              "visit_on": (data.visit_on or today).isoformat(), "findings": data.findings,
              "emergency": data.emergency}
    finish(session, actor, case, step, "visited", record, f"完成入户调查（{len(names)} 人）", today)
