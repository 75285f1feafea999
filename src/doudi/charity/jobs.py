"""The daily charity job (`doudi daily`): proposals a partner left unanswered past their due date expire and the
need is escalated (督办) to the township; needs past their own deadline without help are escalated, or expire
when nobody was ever found for them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import system_actor
from doudi.charity.models import Match, MatchStatus, Need, NeedStatus

WAITING = (NeedStatus.OPEN, NeedStatus.PROPOSED, NeedStatus.DECLINED)


def escalate(session: Session, *, today: date) -> tuple[int, int, int]:
    """(answers overdue, deliveries overdue, needs expired), as set-based updates in the caller's transaction."""
    late = list(session.execute(select(Match.id, Match.need_id).where(
        Match.status == MatchStatus.CONFIRMED, Match.due_on < today)).all())
    need_ids = [n for _, n in late]
    if late:
        session.execute(update(Match).where(Match.id.in_([m for m, _ in late]), Match.status == MatchStatus.CONFIRMED)
                        .values(status=MatchStatus.EXPIRED, reason="逾期未答复", answered_on=today,
                                version=Match.version + 1).execution_options(synchronize_session=False))
        session.execute(update(Need).where(Need.id.in_(need_ids), Need.status == NeedStatus.MATCHED)
                        .values(status=NeedStatus.ESCALATED, partner_key=None, version=Need.version + 1)
                        .execution_options(synchronize_session=False))
    slow = session.execute(update(Need).where(Need.status == NeedStatus.ACCEPTED, Need.deadline < today)
                           .values(status=NeedStatus.ESCALATED, version=Need.version + 1)
                           .execution_options(synchronize_session=False))
    gone = session.execute(update(Need).where(Need.status.in_([str(s) for s in WAITING]), Need.deadline < today)
                           .values(status=NeedStatus.EXPIRED, version=Need.version + 1)
                           .execution_options(synchronize_session=False))
    counts = (len(late), int(getattr(slow, "rowcount", 0) or 0), int(getattr(gone, "rowcount", 0) or 0))
    if any(counts):
        audit.record(session, actor=system_actor(name="daily"), action="charity.escalate",
                     object_type="charity_need_run", object_id=sum(counts),
                     extra={"answers_overdue": counts[0], "deliveries_overdue": counts[1], "expired": counts[2],
                            "needs": need_ids[:1000]})
    return counts


def daily(session: Session, *, today: date) -> str:
    """Escalate overdue answers and deliveries; the summary counts them."""
    late, slow, gone = escalate(session, today=today)
    return f"慈善衔接督办：机构逾期未答复 {late} 条，逾期未完成帮扶 {slow} 条，过期未匹配 {gone} 条"
