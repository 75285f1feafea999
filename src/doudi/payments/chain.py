"""The household's payments (one line per month and program), for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.cases.notices import PROGRAM_LABELS
from doudi.core.timeline import ChainEvent
from doudi.payments.models import PaymentLine
from doudi.payments.service import LINE_LABELS


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """Per entitlement month and program: the amount paid (or pending) to the household."""
    if not actor.can("payment.read"):
        return []
    stmt = in_scope(select(PaymentLine.entitlement_month, PaymentLine.program, PaymentLine.status,
                           func.sum(PaymentLine.amount_fen)), actor, area=PaymentLine.area_code).where(
        PaymentLine.household_id == household_id).group_by(
        PaymentLine.entitlement_month, PaymentLine.program, PaymentLine.status)
    return [ChainEvent(month, "发放", f"{PROGRAM_LABELS.get(program, program)} {month:%Y-%m} 发放 "
                                     f"{int(fen) // 100}.{int(fen) % 100:02d} 元", LINE_LABELS.get(status, status))
            for month, program, status, fen in session.execute(stmt)]
