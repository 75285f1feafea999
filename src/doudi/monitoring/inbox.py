"""Warnings and referrals in a caseworker's inbox (web/inbox_sources.py): open warnings of their area, overdue
first, their area's side of an open 重复 raised above the counties (to verify, not to dispose), and referrals
addressed to an agency's liaison."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above, in_scope, outside_area
from doudi.monitoring import referrals
from doudi.monitoring.labels import AGENCIES
from doudi.monitoring.models import MonitorWarning, Referral, ReferralStatus, WarningSide, WarningStatus
from doudi.web.inbox_sources import InboxItem

LIMIT = 100
WAITING = (WarningStatus.NEW, WarningStatus.ASSIGNED, WarningStatus.VERIFYING)


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Open warnings not yet disposed (督办 when overdue) and open referrals, already scoped to the actor."""
    items: list[InboxItem] = []
    if actor.can("monitoring.dispose"):
        stmt = (in_scope(select(MonitorWarning), actor, area=MonitorWarning.area_code)
                .where(MonitorWarning.status.in_(WAITING))
                .order_by(MonitorWarning.due_on).limit(LIMIT))
        for w in session.scalars(stmt):
            overdue = w.due_on < today
            items.append(InboxItem(kind="预警督办" if overdue else "预警", title=f"{w.person_name}：{w.reason}"[:80],
                                   url=f"/monitoring/{w.id}", due_on=w.due_on, overdue=overdue))
        # The level above disposes of a 重复 across counties; each county (or township) verifies its own side.
        sides = (in_scope(select(WarningSide, MonitorWarning).join(MonitorWarning, MonitorWarning.id ==
                                                                   WarningSide.warning_id),
                          actor, area=WarningSide.area_code)
                 .where(outside_area(MonitorWarning.area_code, actor), MonitorWarning.status.in_(WAITING))
                 .order_by(MonitorWarning.due_on, WarningSide.id).limit(LIMIT))
        for side, above in session.execute(sides).all():
            items.append(InboxItem(kind="跨县预警", title=f"上级核实：{side.reason}"[:80],
                                   url=f"/monitoring/{above.id}", due_on=above.due_on, overdue=above.due_on < today))
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
        # Only the open ones, picked by the query: the first hundred of every referral could all be closed.
        for r in referrals.list_referrals(session, actor=actor, limit=LIMIT,
                                          statuses=(ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)):
            agency = AGENCIES.get(r.target_key, r.target_key)
            items.append(InboxItem(kind="转办", title=f"{agency}：{r.purpose}"[:80],
                                   url="/monitoring/referrals", due_on=r.due_on, overdue=r.due_on < today))
    return items
