"""救助金发放: pay the emergency grant and open the paperwork task."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, Task
from doudi.cases.rules import PAPERWORK
from doudi.cases.steps.base import StepIn, finish, grant_payment_separation, handler, temporary_grant
from doudi.core.errors import Conflict
from doudi.policy.params import load_pack


class PaymentIn(StepIn):
    """救助金发放: how the grant was paid."""

    method: str = Field(default="cash", description="cash 现金 | transfer 转账")


@handler("payment", permission="case.decide", model=PaymentIn)
def payment(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
            data: PaymentIn, today: date) -> None:
    grant = temporary_grant(session, case)
    if grant.approved_at is None:
        raise Conflict("尚未批准，不能发放")
    grant_payment_separation(case, actor, grant.approved_by)
    grant.paid_at, grant.paid_by = svc.now(), actor.user_id
    late = grant.payment_due_at is not None and svc.now() > _aware(grant.payment_due_at)
    days = int(_paperwork_workdays(case, today))
    task = Task(case_id=case.id, kind="paperwork", title=PAPERWORK,
                due_on=svc.calendar_for(case.area_code).add_workdays(today, days), assignee_id=case.assignee_id)
    session.add(task)
    finish(session, actor, case, step, "paid_late" if late else "paid",
                  {"method": data.method, "paid_at": grant.paid_at.isoformat()},
                  f"临时救助金 {grant.amount} 元已发放" + ("（超过时限）" if late else ""), today)


def _paperwork_workdays(case: Case, on: date) -> int:
    return int(load_pack(case.area_code).value("temporary_assistance.paperwork_workdays", on=on))


def _aware(dt: Any) -> Any:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
