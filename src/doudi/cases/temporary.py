"""Temporary assistance (临时救助): the emergency fast path — grant within the township's limit, pay within
24 hours, complete the paperwork afterwards (临时救助意见 二(二)) — and approval levels by amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency, steps
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, Task, TemporaryGrant
from doudi.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed

COLLECTIVE_NEEDED = "超出县级额度，须“一事一议”：记录会议日期和参加人员"
PAPERWORK = "补齐临时救助手续：登记救助对象、事由、金额，补办经办人员签字盖章"
FUND_LABELS = {"township": "乡镇备用金", "county": "县级", "case_by_case": "一事一议"}


def approval_level(area_code: str, hukou_type: str, amount: Decimal, on: date) -> str:
    """township up to and including the township limit ("1000元以下" includes 1000, 民法典 Art. 1259), county up
    to the county cap (a number of months of the 低保 standard), case_by_case (一事一议) above it."""
    from doudi.policy.params import load_pack

    pack = load_pack(area_code)
    township_limit = Decimal(str(pack.value("temporary_assistance.township_limit", on=on)))
    standard = Decimal(str(pack.value(f"dibao.standard.{hukou_type}", on=on)))
    county_cap = standard * Decimal(str(pack.value("temporary_assistance.county_cap_months", on=on)))
    if amount <= township_limit:
        return "township"
    if amount <= county_cap:
        return "county"
    return "case_by_case"


def _grant(session: Session, case: Case) -> TemporaryGrant:
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is None:
        raise Conflict("该案件没有临时救助申请")
    return grant


def emergency_grant(session: Session, actor: Actor, case: Case, step: CaseStep, action: str,
                     data: dict[str, Any], today: date) -> None:
    grant = _grant(session, case)
    try:
        amount = Decimal(str(data.get("amount", grant.amount))).quantize(Decimal("0.01"))
    except Exception:
        raise ValidationFailed([FieldError("amount", "金额格式不正确")]) from None
    if amount <= 0:
        raise ValidationFailed([FieldError("amount", "金额须大于 0")])
    from doudi.registry.models import Household

    hh = session.get(Household, case.household_id) if case.household_id else None
    level = approval_level(case.area_code, hh.hukou_type if hh else "rural", amount, today)
    if level != "township" and len(actor.area_code) > 6 and not actor.system:
        raise PermissionDenied(f"{amount} 元超出乡镇审批额度，须报县级民政部门审批")
    if level == "case_by_case":
        participants = [p for p in data.get("participants", []) if str(p).strip()]
        if len(participants) < svc.rules(case).min_review_participants or not data.get("meeting_on"):
            raise ValidationFailed([FieldError("participants", COLLECTIVE_NEEDED)])
        grant.collective = {"meeting_on": data["meeting_on"], "participants": participants, "decision": "approve"}
    grant.amount, grant.approval_level = amount, level
    grant.fund = "township_reserve" if level == "township" else "county"
    grant.approved_at, grant.approved_by = svc.now(), actor.user_id
    row = steps._decision_row(case, "temporary_assistance")
    row.outcome, row.monthly_amount, row.decided_by, row.decided_on = "approved", amount, actor.user_id, today
    consistency.check_single_approval(case, row, data, actor)
    payment = svc.step_named(case, "payment")
    steps._finish(session, actor, case, step, "granted", {"amount": str(amount), "level": level},
                  f"先行救助：批准临时救助金 {amount} 元（{FUND_LABELS[level]}）",
                  today, overrides=consistency.overrides(case))
    if payment is not None and payment.due_at is not None:
        grant.payment_due_at = payment.due_at


def payment(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
             today: date) -> None:
    grant = _grant(session, case)
    if grant.approved_at is None:
        raise Conflict("尚未批准，不能发放")
    grant.paid_at, grant.paid_by = svc.now(), actor.user_id
    late = grant.payment_due_at is not None and svc.now() > _aware(grant.payment_due_at)
    days = int(_paperwork_workdays(case, today))
    task = Task(case_id=case.id, kind="paperwork", title=PAPERWORK,
                due_on=svc.calendar_for(case.area_code).add_workdays(today, days), assignee_id=case.assignee_id)
    session.add(task)
    steps._finish(session, actor, case, step, "paid_late" if late else "paid",
                  {"method": data.get("method", "cash"), "paid_at": grant.paid_at.isoformat()},
                  f"临时救助金 {grant.amount} 元已发放" + ("（超过时限）" if late else ""), today)


def _paperwork_workdays(case: Case, on: date) -> int:
    from doudi.policy.params import load_pack

    return int(load_pack(case.area_code).value("temporary_assistance.paperwork_workdays", on=on))


def _aware(dt: Any) -> Any:
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def complete_task(session: Session, *, actor: Actor, task_id: int, note: str = "", version: int | None = None) -> Task:
    """Mark a follow-up task done."""
    from doudi.db.versions import claim

    task = session.get(Task, task_id)
    if task is None:
        from doudi.core.errors import NotFound

        raise NotFound("task")
    case = svc.get_case(session, actor=actor, case_id=task.case_id, action="case.review")
    claim(session, task, version, label="该事项")
    if task.status == "done":
        raise Conflict("该事项已办结")
    task.status, task.done_at, task.done_by = "done", svc.now(), actor.user_id
    svc.event(session, case, actor=actor, kind="task_done", message=f"已办结：{task.title}", public=False)
    svc.record(session, case, actor=actor, action="case.task_done", extra={"task": task.id, "note": note})
    return task

