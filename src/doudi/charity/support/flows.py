"""Coordination of support with other domains. When a training referral ends in a job, the household's income
rises from employment — the one cause for which 低保 gives a gradual exit (渐退, 2022 通知 一(三)). The
plan does not touch the enrollment: it raises a monitoring review (rule new_employment) for the person, through
the monitoring domain's own ledger writer, and the township decides the 渐退 there. Never commits."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.cases.models import Enrollment, EnrollmentStatus
from doudi.charity.fund.labels import yuan
from doudi.charity.support import service
from doudi.charity.support.models import Plan, ReferralStatus, Training
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.rules.base import HIT_SCHEMA
from doudi.monitoring.run import group_hits, rule_specs, write_grouped
from doudi.policy.params import load_pack
from doudi.registry.models import Person

RULE = "new_employment"
RECIPIENT = (EnrollmentStatus.ACTIVE, EnrollmentStatus.GRADUAL_EXIT)


def record_outcome(session: Session, *, actor: Actor, training_id: int, version: int | None, outcome: str, on: date,
                   employer: str = "", monthly_wage_fen: int | None = None) -> Training:
    """Record a training's outcome; employment of a recipient household's member raises the 渐退 review."""
    t = service.record_outcome(session, actor=actor, training_id=training_id, version=version, outcome=outcome,
                               on=on, employer=employer, monthly_wage_fen=monthly_wage_fen)
    if t.status == ReferralStatus.EMPLOYED:
        t.review_warning_id = raise_exit_review(session, actor=actor, training=t, on=on)
        session.flush()
    return t


def raise_exit_review(session: Session, *, actor: Actor, training: Training, on: date) -> int | None:
    """Open (or add to) the person's new-employment review in the monitoring ledger when the household is on
    assistance; returns the warning's id (None when the household receives nothing to taper off)."""
    plan = session.get(Plan, training.plan_id)
    assert plan is not None
    live = session.scalar(select(Enrollment.id).where(Enrollment.household_id == plan.household_id,
                                                      Enrollment.status.in_(RECIPIENT)).limit(1))
    if live is None:
        return None
    person = session.get(Person, training.person_id)
    assert person is not None
    specs = {k: s for k, s in rule_specs(plan.area_code, on).items() if k == RULE}
    if not specs:
        return None
    reason = (f"{person.name} 经社工+家政培训（{training.course}）于 {on:%Y-%m} 在{training.employer}就业，"
              f"月工资 {yuan(training.monthly_wage_fen)} 元（帮扶计划 {plan.id}）："
              "收入增加来自就业，复核时可按规定给予渐退期")
    hit = pl.DataFrame([{"person_id": person.id, "household_id": plan.household_id, "id_number": person.id_number,
                         "name": person.name, "area_code": plan.area_code, "batch_id": None, "row_number": None,
                         "source_key": None, "reason": reason,
                         "detail": f"month={on:%Y-%m}"}],
                       schema=HIT_SCHEMA)
    found = hit.select(pl.lit(RULE).alias("rule_key"), pl.format("p{}", "person_id").alias("subject_key"),
                       *HIT_SCHEMA)
    counts = {RULE: {"found": 0, "new": 0, "attached": 0}}
    write_grouped(session, group_hits(found, fingerprint=False), specs, load_pack(plan.area_code).version, None,  # type: ignore[arg-type]
                  on, plan.area_code, counts)
    warning_id = session.scalar(select(MonitorWarning.id).where(MonitorWarning.open_key == f"{RULE}:p{person.id}"))
    audit.record(session, actor=actor, action="support.exit_review", object_type="support_training",
                 object_id=training.id, area_code=plan.area_code,
                 after={"warning_id": warning_id, "employer": training.employer})
    return warning_id
