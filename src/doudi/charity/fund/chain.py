"""The household's charity grants, for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.charity.fund.labels import GRANT_LABELS, PURPOSE_LABELS, yuan
from doudi.charity.fund.models import Grant
from doudi.core.timeline import ChainEvent


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """One link per grant: purpose, amount and its approval."""
    if not actor.can("fund.read"):
        return []
    stmt = in_scope(select(Grant), actor, area=Grant.area_code).where(Grant.household_id == household_id)
    return [ChainEvent((g.decided_at or g.created_at).date(), "慈善救助",
                       f"慈善救助基金 {PURPOSE_LABELS.get(g.purpose, g.purpose)} {yuan(g.amount_fen)} 元",
                       GRANT_LABELS.get(g.status, g.status), f"/charity/fund/grants/{g.id}")
            for g in session.scalars(stmt.order_by(Grant.id))]
