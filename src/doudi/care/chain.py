"""The household's home care in 一户一条救助链: self-care assessments, ended entitlements, and the visits of each
member month by month (web/chain.py CHAIN_SOURCES)."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.care.models import (
    OPEN_STATUSES,
    PAID_STATUSES,
    CareAssessment,
    CareEntitlement,
    CareVisit,
    EntitlementStatus,
    Level,
    VisitStatus,
)
from doudi.care.rules import LEVEL_LABELS
from doudi.care.service import TRIGGER_LABELS, provider_scope
from doudi.core.dates import month_start
from doudi.core.timeline import ChainEvent
from doudi.db.frames import read_frame
from doudi.registry.models import Membership, Person

LEVEL_CHANGE = "自理能力等级变更"  # an entitlement ended by a new level: the assessment already says so


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """Assessments (level, hours, why), entitlements that ended (death, 集中供养, end of 特困) and per member and
    month the visits: how many, the verified hours, the no-shows and those awaiting a supervisor."""
    if not actor.can("care.read"):
        return []
    members = select(Membership.person_id).where(Membership.household_id == household_id)
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(members))).all())
    if not names:
        return []
    out: list[ChainEvent] = []
    assessed = in_scope(select(CareAssessment), actor, area=CareAssessment.area_code).where(
        CareAssessment.person_id.in_(list(names)))
    for a in session.scalars(assessed):
        trigger = TRIGGER_LABELS.get(a.trigger, a.trigger)  # type: ignore[call-overload]
        out.append(ChainEvent(a.assessed_on, "照料评估",
                              f"{names[a.person_id]} 生活自理能力：{LEVEL_LABELS[Level(a.level)]}（{trigger}）",
                              f"每月 {a.hours.normalize():f} 小时，自 {a.effective_month:%Y年%m月} 起",
                              f"/care/persons/{a.person_id}"))
    ended = in_scope(select(CareEntitlement), actor, area=CareEntitlement.area_code).where(
        CareEntitlement.person_id.in_(list(names)), CareEntitlement.status == EntitlementStatus.ENDED,
        CareEntitlement.end_reason != LEVEL_CHANGE)
    for e in session.scalars(ended):
        if e.to_month is not None:
            title = f"{names[e.person_id]} 居家照料服务自 {e.to_month:%Y年%m月} 起终止"
            out.append(ChainEvent(e.to_month, "照料终止", title, e.end_reason, f"/care/persons/{e.person_id}"))
    stmt = provider_scope(select(CareVisit.person_id, CareVisit.visit_date, CareVisit.status,
                                 CareVisit.counted_minutes), actor, area=CareVisit.area_code,
                          org=CareVisit.provider_key).where(CareVisit.person_id.in_(list(names)))
    visits = read_frame(session, stmt)
    if visits.is_empty():
        return out
    paid = pl.col("status").is_in([str(s) for s in PAID_STATUSES])
    months = (visits.filter(pl.col("status") != VisitStatus.CANCELLED.value)
              .with_columns(month=pl.col("visit_date").dt.truncate("1mo"))
              .group_by("person_id", "month")
              .agg(last=pl.col("visit_date").max(),
                   visits=(~pl.col("status").is_in([str(s) for s in (*OPEN_STATUSES, VisitStatus.MISSED)])).sum(),
                   booked=pl.col("status").is_in([str(s) for s in OPEN_STATUSES]).sum(),
                   minutes=pl.when(paid).then(pl.col("counted_minutes").fill_null(0)).otherwise(0).sum(),
                   missed=(pl.col("status") == VisitStatus.MISSED.value).sum(),
                   flagged=(pl.col("status") == VisitStatus.FLAGGED.value).sum())
              .sort("person_id", "month"))
    for r in months.iter_rows(named=True):
        out.append(month_event(names[r["person_id"]], r["person_id"], r["month"], r["last"], r))
    return out


def month_event(name: str, person_id: int, month: date, last: date, n: dict[str, int]) -> ChainEvent:
    """One member's month of home visits (counts: visits done, booked, missed, flagged; paid minutes), dated by
    its last visit."""
    extra = [f"已排班未完成 {n['booked']} 次" if n["booked"] else "", f"未上门 {n['missed']} 次" if n["missed"] else "",
             f"待核实 {n['flagged']} 次" if n["flagged"] else ""]
    return ChainEvent(last, "居家上门服务",
                      f"{name} {month_start(month):%Y年%m月} 上门服务 {n['visits']} 次，"
                      f"核验计入 {n['minutes'] / 60:g} 小时", "，".join(x for x in extra if x),
                      f"/care/persons/{person_id}")
