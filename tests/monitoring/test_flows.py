"""A discovery lead becomes an application in one action (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.auth.service import actor_for
from doudi.cases.models import Case
from doudi.core.errors import Conflict, ValidationFailed
from doudi.monitoring import flows
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from tests.factories import TOWN_A, VILLAGE_A1, make_household, make_user
from tests.monitoring.builders import ON, county


def test_missed_lead_becomes_discovery_application(db: Session) -> None:
    """Household C (township A, head 56, no income, no enrollment, never refused) is found eligible for 低保 by
    the registry assessment: a 遗漏 lead. The township worker turns it into an application: channel 主动发现, the
    household's head as applicant, 低保 among the programs; the warning is disposed (application) and names the
    case; a second attempt is refused. A warning whose rule does not allow an application (B's overdue review)
    is refused before any case is submitted."""
    c = county(db)
    hh = make_household(db, VILLAGE_A1, head_name="赵守田")
    run(db, actor=system_actor(name="test"), on=ON, area="370784")
    lead = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "missed",
                                                  MonitorWarning.household_id == hh.id))
    assert lead is not None and lead.discovery
    worker = actor_for(make_user(db, "lead_a", ["township_caseworker"], TOWN_A))
    case = flows.start_application(db, actor=worker, warning_id=lead.id, version=lead.version, today=ON)
    assert case.channel == "discovery" and case.household_id == hh.id and case.applicant_name == "赵守田"
    assert "dibao" in case.programs and case.status == "submitted"
    db.refresh(lead)
    assert lead.status == "disposed" and lead.disposition == "application" and lead.case_id == case.id
    assert case.case_no in lead.note
    with pytest.raises(Conflict):
        flows.start_application(db, actor=worker, warning_id=lead.id, version=lead.version, today=ON)
    review = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "review_overdue"))
    assert review is not None and review.household_id == c.b.id
    officer = actor_for(make_user(db, "lead_cty", ["county_officer"], "370784"))
    before = len(list(db.scalars(select(Case))))
    with pytest.raises(ValidationFailed, match="不允许"):
        flows.start_application(db, actor=officer, warning_id=review.id, version=review.version, today=ON)
    assert len(list(db.scalars(select(Case)))) == before


def test_stop_other_than_death_goes_through_termination_publicity(db: Session) -> None:
    """B is paid 600 a month but assessed at 537 (安丘 rural standard, no income): an assessment-change warning.
    A township worker may not stop payment (that is the county's decision, with 公示); the county officer's
    “suspend” starts a termination under 公示 until 2026-11-16 + 7 days = 11-23 (特困人员认定办法 第二十六条), and
    the enrollment stays active meanwhile."""
    from decimal import Decimal

    from doudi.cases.models import Enrollment, EnrollmentChange
    from doudi.core.errors import PermissionDenied
    from doudi.monitoring import service
    from tests.factories import TOWN_B

    c = county(db)
    e = db.scalar(select(Enrollment).where(Enrollment.household_id == c.b.id))
    assert e is not None
    e.monthly_amount = Decimal("600")
    db.flush()
    run(db, actor=system_actor(name="test"), on=ON, area="370784")
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "assessment_change"))
    assert w is not None and w.household_id == c.b.id and "建议减发" in w.reason
    worker = actor_for(make_user(db, "stop_b", ["township_caseworker"], TOWN_B))
    with pytest.raises(PermissionDenied, match="公示"), db.begin_nested():
        service.dispose(db, actor=worker, warning_id=w.id, version=w.version, disposition="suspend",
                        note="核实属实", today=ON)
    officer = actor_for(make_user(db, "stop_cty", ["county_officer"], "370784"))
    db.refresh(w)
    service.dispose(db, actor=officer, warning_id=w.id, version=w.version, disposition="suspend",
                    note="重复享受，拟停发", today=ON)
    change = db.scalar(select(EnrollmentChange).where(EnrollmentChange.enrollment_id == e.id))
    assert change is not None and change.kind == "terminate" and change.status == "publicizing"
    assert str(change.publicity_until) == "2026-11-23" and f"监测预警 {w.id}" in change.reason
    db.refresh(e)
    assert e.status == "active"
