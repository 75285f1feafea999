"""入户调查: at least the pack's number of investigators, on site unless an emergency allows otherwise."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import bad, finish, handler


@handler("home_visit", permission="case.investigate")
def home_visit(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
               data: dict[str, Any], today: date) -> None:
    rules = svc.rules(case)
    names = [n.strip() for n in data.get("investigators", []) if str(n).strip()]
    if len(set(names)) < rules.min_investigators:
        raise bad("investigators", f"每组调查人员不得少于 {rules.min_investigators} 人（审核确认办法第十六条）")
    mode = data.get("mode", "onsite")
    if mode not in {"onsite", "phone", "video"}:
        raise bad("mode", "调查方式应为 入户/电话/视频")
    if mode != "onsite" and not str(data.get("emergency", "")).strip():
        raise bad("emergency", "非接触方式调查仅限重大突发事件期间，须写明事件")
    if not str(data.get("findings", "")).strip():
        raise bad("findings", "须填写调查结论")
    record = {"investigators": names, "investigator_ids": data.get("investigator_ids", []), "mode": mode,
              "visit_on": data.get("visit_on", today.isoformat()), "findings": data["findings"],
              "emergency": data.get("emergency", "")}
    finish(session, actor, case, step, "visited", record, f"完成入户调查（{len(names)} 人）", today)
