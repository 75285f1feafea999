"""督办 of referrals: a referral the receiving agency has not answered by its due date (working days from the
pack) is raised to its county once, audited, and shown in the county's inbox; a daily job (`doudi daily`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.audit import service as audit
from doudi.auth.permissions import Actor, system_actor
from doudi.auth.scope import in_scope
from doudi.db.versions import claim
from doudi.monitoring.models import Referral, ReferralStatus

WAITING = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)


def escalate_overdue(session: Session, *, actor: Actor, today: date) -> list[Referral]:
    """Raise every unanswered referral past its due date in the actor's area to its county (once each)."""
    actor.require("referral.read")
    stmt = (in_scope(select(Referral), actor, area=Referral.area_code)
            .where(Referral.status.in_([str(s) for s in WAITING]), Referral.due_on < today,
                   Referral.escalated_on.is_(None))
            .order_by(Referral.id))
    raised = []
    for r in session.scalars(stmt):
        claim(session, r, None, label="该转办")  # a second daily run in parallel fails instead of raising twice
        r.escalated_on = today
        r.escalated_to = county_of(r.area_code)
        audit.record(session, actor=actor, action="referral.escalate", object_type="referral", object_id=r.id,
                     area_code=r.area_code, before={"escalated_on": None},
                     after={"escalated_on": today.isoformat(), "escalated_to": r.escalated_to,
                            "due_on": r.due_on.isoformat(), "status": r.status})
        raised.append(r)
    session.flush()
    return raised


def daily(session: Session, *, today: date) -> str:
    """The daily job: escalate overdue referrals everywhere; one line of summary."""
    raised = escalate_overdue(session, actor=system_actor(name="daily"), today=today)
    return f"转办督办：逾期未办结的转办 {len(raised)} 件已上报县级"
