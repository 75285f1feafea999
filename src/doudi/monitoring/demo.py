"""Demo seed: a comparison run over the synthetic county, then a few warnings answered at every stage and a
referral, so the ledger, its chart and the inbox have work to show."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.models import User
from doudi.auth.permissions import on_behalf, system_actor
from doudi.auth.scope import under
from doudi.auth.service import actor_for
from doudi.monitoring import referrals, service
from doudi.monitoring.models import MonitorWarning, WarningStatus
from doudi.monitoring.run import rule_specs, run


def seed(session: Session, *, today: date, township: str) -> None:
    """Run the comparison (as of a week ago and today, for the trend) and answer some of the township's warnings."""
    system = system_actor(name="演示数据")
    run(session, actor=system, on=today - timedelta(days=7))
    run(session, actor=system, on=today)
    user = session.scalar(select(User).where(User.username == "caseworker"))
    if user is None:
        return
    worker = on_behalf(actor_for(user))
    open_ = list(session.scalars(under(select(MonitorWarning).where(MonitorWarning.status == WarningStatus.NEW),
                                       MonitorWarning.area_code, township).order_by(MonitorWarning.id).limit(8)))
    specs = rule_specs(township, today)
    for i, w in enumerate(open_):
        if i % 4 == 0:
            service.assign(session, actor=worker, warning_id=w.id, version=w.version, assignee_id=None)
        elif i % 4 == 1:
            service.verify(session, actor=worker, warning_id=w.id, version=w.version, note="已安排入户核实")
        elif i % 4 == 2:
            allowed = specs[w.rule_key].dispositions if w.rule_key in specs else ("no_action",)
            choice = "review" if "review" in allowed else allowed[0]
            target = {"school_enrolment": "school", "unemployment": "unemployment"}.get(w.rule_key, "medical")
            service.dispose(session, actor=worker, warning_id=w.id, version=w.version, disposition=choice,
                            note="经核实情况属实，按规定处置", today=today, target_key=target)
            if choice != "refer":
                referrals.create(session, actor=worker, warning=w, target_kind="agency", target_key="medical",
                                 purpose="请医保部门核查医疗救助落实情况", today=today)
        else:
            service.close(session, actor=worker, warning_id=w.id, version=w.version,
                          note="入户核实：情况已变化，无需处置", today=today)
