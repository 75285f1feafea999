"""督办 of referrals: unanswered past their due date, raised once to the county by the daily job, audited, in the
county officer's inbox and not in the township worker's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.service import actor_for
from doudi.commands.daily import DAILY_JOBS
from doudi.monitoring import escalation, inbox, referrals
from doudi.monitoring.models import MonitorWarning, Referral
from doudi.monitoring.run import run
from tests.factories import TOWN_A, make_user
from tests.monitoring.builders import ON, county, death_feed
from tests.monitoring.test_run import SYSTEM


def test_overdue_referrals_escalate_once_to_the_county(db: Session, tmp_path: Path) -> None:
    """Two referrals made on Monday 2026-11-16 are due 10 working days later, 2026-11-30. On 11-30 nothing is
    overdue; on 12-01 the one still unanswered is raised to county 370784 (the answered one is not); running the
    job again on 12-02 raises nothing more."""
    assert "doudi.monitoring.escalation" in DAILY_JOBS
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=SYSTEM, on=ON, area="370784")
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "death"))
    assert w is not None
    worker = actor_for(make_user(db, "esc_worker", ["township_caseworker"], TOWN_A))
    late = referrals.create(db, actor=worker, warning=w, target_kind="agency", target_key="unemployment",
                            purpose="家庭成员就业帮扶", today=ON)
    done = referrals.create(db, actor=worker, warning=w, target_kind="agency", target_key="medical",
                            purpose="医疗救助", today=ON)
    assert late.due_on == done.due_on == date(2026, 11, 30)
    liaison = actor_for(make_user(db, "esc_mi", ["agency_liaison"], "370784", org="medical"))
    referrals.answer(db, actor=liaison, referral_id=done.id, version=done.version, acknowledge_only=False,
                     result="已纳入医疗救助", today=date(2026, 11, 25))

    assert escalation.daily(db, today=date(2026, 11, 30)) == "转办督办：逾期未办结的转办 0 件已上报县级"
    assert escalation.daily(db, today=date(2026, 12, 1)) == "转办督办：逾期未办结的转办 1 件已上报县级"
    got = db.get(Referral, late.id)
    assert got is not None and got.escalated_on == date(2026, 12, 1) and got.escalated_to == "370784"
    answered = db.get(Referral, done.id)
    assert answered is not None and answered.escalated_on is None
    assert escalation.daily(db, today=date(2026, 12, 2)) == "转办督办：逾期未办结的转办 0 件已上报县级"
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "referral.escalate")).all()
    assert [(e.object_id, e.area_code) for e in entries] == [(str(late.id), late.area_code)]

    officer = actor_for(make_user(db, "esc_county", ["county_officer"], "370784"))
    items = [i for i in inbox.inbox_items(db, actor=officer, today=date(2026, 12, 2)) if i.kind == "转办督办"]
    assert [(i.title, i.overdue) for i in items] == [("人社部门（就业救助）逾期未办结：家庭成员就业帮扶", True)]
    assert [i for i in inbox.inbox_items(db, actor=worker, today=date(2026, 12, 2)) if i.kind == "转办督办"] == []
