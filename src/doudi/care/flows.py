"""Across domains: monitoring's 照料复评 warnings (a large medical settlement, a disability change) become
re-assessment requests of the care domain, due within the pack's working days."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.care.models import CareAssessment, CareEntitlement, EntitlementStatus, ReassessmentRequest, Trigger
from doudi.care.service import request_reassessment
from doudi.monitoring.models import MonitorWarning

RULE = "care_reassessment"  # monitoring.rules.care_reassessment in the pack


def reassess_from_monitoring(session: Session, *, actor: Actor, today: date) -> int:
    """For every open 照料复评 warning of a person with a live entitlement, raise a monitoring re-assessment
    unless the person was assessed, or a re-assessment raised, since the warning was first seen, or one is open:
    a warning raises one request, however many days it stays open. Returns how many were raised."""
    warned = session.execute(select(MonitorWarning.person_id, MonitorWarning.first_seen_on, MonitorWarning.reason)
                             .where(MonitorWarning.rule_key == RULE, MonitorWarning.open_key.is_not(None),
                                    MonitorWarning.person_id.is_not(None))
                             .order_by(MonitorWarning.person_id, MonitorWarning.first_seen_on)).all()
    if not warned:
        return 0
    people = sorted({p for p, _, _ in warned if p is not None})
    live = set(session.scalars(select(CareEntitlement.person_id).where(
        CareEntitlement.person_id.in_(people), CareEntitlement.status == EntitlementStatus.ACTIVE)))
    # Answered already: an assessment or a request (any cause) since the warning was first seen, or one open.
    seen: dict[int, date] = dict(session.execute(
        select(CareAssessment.person_id, func.max(CareAssessment.assessed_on))
        .where(CareAssessment.person_id.in_(people)).group_by(CareAssessment.person_id)).all())
    for pid, on, done in session.execute(select(ReassessmentRequest.person_id, ReassessmentRequest.raised_on,
                                                   ReassessmentRequest.done_assessment_id)
                                            .where(ReassessmentRequest.person_id.in_(people))):
        seen[pid] = date.max if done is None else max(on, seen.get(pid, on))
    raised = 0
    for person, first_seen, reason in warned:
        if person is None or person not in live or seen.get(person, date.min) >= first_seen:
            continue
        request_reassessment(session, actor=actor, person_id=person, trigger=Trigger.MONITORING,
                             reason=f"动态监测预警：{reason}", today=today)
        seen[person] = date.max
        raised += 1
    return raised
