"""The care part of `doudi daily`: no-shows, ended entitlements, yearly reviews due."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.care import flows, service, visits


def daily(session: Session, *, today: date) -> str:
    """Mark yesterday's unvisited bookings missed, close entitlements that ended, raise the yearly reviews and the
    re-assessments monitoring asks for."""
    actor = system_actor(name="daily")
    missed = visits.mark_missed(session, actor=actor, today=today)
    ended = service.end_entitlements(session, actor=actor, today=today)
    reviews = service.raise_yearly_reviews(session, actor=actor, today=today)
    warned = flows.reassess_from_monitoring(session, actor=actor, today=today)
    return (f"居家照料：{missed} 次上门服务记为未上门，{ended} 项照料资格终止，新增 {reviews} 项年度复核评估，"
            f"{warned} 项动态监测复核评估")
