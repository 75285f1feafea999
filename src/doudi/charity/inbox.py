"""Charity work in the inbox (web/inbox_sources.py): for the township, escalated and declined needs and
proposals to confirm; for a partner, needs sent to it awaiting its answer or its result."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.charity import service
from doudi.charity.labels import NEED_STATUS, OFFER
from doudi.charity.models import NeedStatus
from doudi.web.inbox_sources import InboxItem

LIMIT = 100
FOR_TOWNSHIP = (NeedStatus.ESCALATED, NeedStatus.DECLINED, NeedStatus.PROPOSED)
FOR_PARTNER = (NeedStatus.MATCHED, NeedStatus.ACCEPTED, NeedStatus.ESCALATED)


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Needs waiting for the actor, already scoped to it."""
    if actor.org_scoped:
        if not actor.can("charity.respond"):
            return []
        wanted = FOR_PARTNER
    elif actor.can("charity.manage"):
        wanted = FOR_TOWNSHIP
    else:
        return []
    items = []
    for status in wanted:
        rows, _ = service.list_needs(session, actor=actor, filters=service.Filters(status=status), today=today,
                                     per_page=LIMIT)
        for n in rows:
            kind = "慈善督办" if n.status == NeedStatus.ESCALATED else "慈善衔接"
            items.append(InboxItem(kind=kind, title=f"{OFFER.get(n.kind, n.kind)}：{NEED_STATUS[n.status]}"
                                   f"（需求 {n.id}）", url=f"/charity/needs/{n.id}", due_on=n.deadline,
                                   overdue=n.deadline < today or n.status == NeedStatus.ESCALATED))
    return items
