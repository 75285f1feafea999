"""The notice of a change of self-care level (生活自理能力评估结果告知书): frozen content in the case notices table,
printed as PDF by the same renderer as every other notice. Functions never commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.care.models import CareAssessment, Level
from doudi.care.rules import LEVEL_LABELS
from doudi.cases.models import Enrollment, Notice
from doudi.cases.notices import APPEAL
from doudi.core.masking import mask_id
from doudi.registry.models import Household, Person

KIND = "care_level"
TITLE = "特困人员生活自理能力评估结果告知书"
BASIS = "《特困人员认定办法》第二十二条（生活自理能力评估）、第二十三条（自理能力变化的复核）"


def level_notice(session: Session, *, assessment: CareAssessment, previous: CareAssessment,
                 enrollment: Enrollment, old_hours: str) -> Notice:
    """A notice that the person's level and monthly care hours change from the assessment's effective month."""
    person = session.get(Person, assessment.person_id)
    hh = session.get(Household, enrollment.household_id)
    names = areas.names(session, codes=[enrollment.area_code[:6], enrollment.area_code[:9]])
    content: dict[str, Any] = {
        "title": TITLE, "applicant": person.name if person else "",
        "applicant_id": mask_id(person.id_number) if person else "",
        "case_no": hh.household_no if hh else "", "county": names.get(enrollment.area_code[:6], ""),
        "township": names.get(enrollment.area_code[:9], ""),
        "old_level": LEVEL_LABELS[Level(previous.level)], "new_level": LEVEL_LABELS[Level(assessment.level)],
        "old_hours": old_hours, "new_hours": f"{assessment.hours.normalize():f}",
        "unable_items": assessment.unable_items, "assessed_on": assessment.assessed_on.isoformat(),
        "assessor": assessment.assessor, "effective": assessment.effective_month.isoformat(),
        "basis": BASIS, "appeal": APPEAL, "issued_on": assessment.assessed_on.isoformat(),
    }
    notice = Notice(enrollment_id=enrollment.id, area_code=enrollment.area_code, kind=KIND,
                    number=f"ZL{assessment.assessed_on:%Y%m%d}{enrollment.id:06d}{secrets.token_hex(2)}",
                    issued_on=assessment.assessed_on, content=content, version=1)
    session.add(notice)
    session.flush()
    return notice


def level_notices(session: Session, *, person_id: int) -> list[Notice]:
    """The level-change notices of a person's 特困 enrollments, newest first."""
    stmt = (select(Notice).join(Enrollment, Enrollment.id == Notice.enrollment_id)
            .where(Enrollment.person_id == person_id, Notice.kind == KIND).order_by(Notice.id.desc()))
    return list(session.scalars(stmt))
