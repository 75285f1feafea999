"""Care items in a caseworker's inbox: flagged visits to check, re-assessments due, open complaints."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.care.models import CareFeedback, CareVisit, FeedbackKind, FeedbackStatus, VisitStatus
from doudi.care.service import open_reassessments, provider_scope
from doudi.web.inbox_sources import InboxItem


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """The actor's care work, already scoped to their area."""
    items: list[InboxItem] = []
    if actor.can("care.supervise"):
        stmt = provider_scope(select(func.count(), func.min(CareVisit.visit_date))
                              .where(CareVisit.status == VisitStatus.FLAGGED),
                              actor, area=CareVisit.area_code, org=CareVisit.provider_key)
        n, oldest = session.execute(stmt).one()
        if n:
            items.append(InboxItem("居家照料", f"{n} 次上门服务待人工核实", "/care/visits?status=flagged", oldest,
                                   oldest is not None and (today - oldest).days > 7))
        stmt2 = provider_scope(select(func.count()).where(CareFeedback.kind == FeedbackKind.COMPLAINT,
                                                          CareFeedback.status == FeedbackStatus.OPEN),
                               actor, area=CareFeedback.area_code, org=CareFeedback.provider_key)
        complaints = session.scalar(stmt2) or 0
        if complaints:
            items.append(InboxItem("居家照料", f"{complaints} 件照料服务投诉待办结", "/care/feedback?status=open",
                                   None, False))
    if actor.can("care.assess"):
        for r in open_reassessments(session, actor=actor, limit=50):
            items.append(InboxItem("居家照料", f"自理能力复核评估：人员 {r.person_id}（{r.reason}）",
                                   f"/care/persons/{r.person_id}", r.due_on, r.due_on < today))
    return items
