"""Warnings and referrals in a caseworker's inbox (web/inbox_sources.py): open warnings of their area, overdue
first, and referrals addressed to an agency's liaison."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above, in_scope
from doudi.monitoring import referrals
from doudi.monitoring.labels import AGENCIES
from doudi.monitoring.models import MonitorWarning, Referral, ReferralStatus, WarningStatus
from doudi.web.inbox_sources import InboxItem

LIMIT = 100


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Open warnings not yet disposed (督办 when overdue) and open referrals, already scoped to the actor."""
    items: list[InboxItem] = []
    if actor.can("monitoring.dispose"):
        stmt = (in_scope(select(MonitorWarning), actor, area=MonitorWarning.area_code)
                .where(MonitorWarning.status.in_([WarningStatus.NEW, WarningStatus.ASSIGNED, WarningStatus.VERIFYING]))
                .order_by(MonitorWarning.due_on).limit(LIMIT))
        for w in session.scalars(stmt):
            overdue = w.due_on < today
            items.append(InboxItem(kind="预警督办" if overdue else "预警", title=f"{w.person_name}：{w.reason}"[:80],
                                   url=f"/monitoring/{w.id}", due_on=w.due_on, overdue=overdue))
    if actor.can("referral.read") and not actor.org_scoped and county_or_above(actor):
        escalated = (in_scope(select(Referral), actor, area=Referral.area_code)
                     .where(Referral.escalated_on.is_not(None),
                            Referral.status.in_([ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED]))
                     .order_by(Referral.due_on).limit(LIMIT))
        for late in session.scalars(escalated):
            agency = AGENCIES.get(late.target_key, late.target_key)
            items.append(InboxItem(kind="转办督办", title=f"{agency}逾期未办结：{late.purpose}"[:80],
                                   url="/monitoring/referrals", due_on=late.due_on, overdue=True))
    if actor.can("referral.answer"):
        for r in referrals.list_referrals(session, actor=actor)[:LIMIT]:
            if r.status in (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED):
                agency = AGENCIES.get(r.target_key, r.target_key)
                items.append(InboxItem(kind="转办", title=f"{agency}：{r.purpose}"[:80],
                                       url="/monitoring/referrals", due_on=r.due_on, overdue=r.due_on < today))
    return items
