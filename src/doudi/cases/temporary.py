"""Temporary assistance (临时救助): its follow-up tasks. The emergency fast path — grant within the township's
limit, pay within 24 hours, complete the paperwork afterwards (临时救助意见 二(二)) — is the steps
`emergency_grant` and `payment` (cases/steps/); approval levels by amount are in cases/rules.py."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Task, TaskStatus
from doudi.cases.rules import COLLECTIVE_NEEDED as COLLECTIVE_NEEDED  # re-exported: older imports
from doudi.cases.rules import FUND_LABELS as FUND_LABELS
from doudi.cases.rules import PAPERWORK as PAPERWORK
from doudi.cases.rules import approval_level as approval_level
from doudi.core.errors import Conflict, NotFound
from doudi.db.versions import claim


def complete_task(session: Session, *, actor: Actor, task_id: int, note: str = "", version: int | None = None) -> Task:
    """Mark a follow-up task done."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("task")
    case = svc.get_case(session, actor=actor, case_id=task.case_id, action="case.review")
    claim(session, task, version, label="该事项")
    if task.status == TaskStatus.DONE:
        raise Conflict("该事项已办结")
    task.status, task.done_at, task.done_by = TaskStatus.DONE, svc.now(), actor.user_id
    svc.event(session, case, actor=actor, kind="task_done", message=f"已办结：{task.title}", public=False)
    svc.record(session, case, actor=actor, action="case.task_done", extra={"task": task.id, "note": note})
    return task

