"""The 智慧养老指挥中心 view: hours entitled, scheduled, delivered and verified per township, provider and
person; missed and flagged visits; persons with no visit for too long; return-visit satisfaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Numeric, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.care.models import (
    PAID_STATUSES,
    CareEntitlement,
    CareFeedback,
    CareProvider,
    CareRecipient,
    CareVisit,
    FeedbackKind,
    FeedbackStatus,
    VisitStatus,
)
from doudi.care.rules import care_rules
from doudi.care.service import provider_scope
from doudi.core.dates import month_start, next_month
from doudi.db.frames import read_frame
from doudi.registry.models import Person

DELIVERED = (VisitStatus.VERIFIED, VisitStatus.FLAGGED, VisitStatus.ACCEPTED, VisitStatus.REJECTED)


@dataclass
class Dashboard:
    """Everything the command centre shows for one month."""

    month: date
    totals: dict[str, float]
    by_township: list[dict[str, Any]]
    by_provider: list[dict[str, Any]]
    status_counts: dict[str, int]
    no_visit: list[dict[str, Any]] = field(default_factory=list)
    no_visit_days: int = 14
    satisfaction: float | None = None
    return_visits: int = 0
    open_complaints: int = 0


def _hours(minutes: pl.Expr) -> pl.Expr:
    return (minutes / 60).round(1)


def dashboard(session: Session, *, actor: Actor, month: date, today: date, area: str = "") -> Dashboard:
    """The month's figures in the actor's scope (optionally one township or village)."""
    actor.require("care.read")
    month = month_start(month)
    # Summed in the database (a county has hundreds of thousands of visits a month); Polars shapes the result.
    e_town = func.substr(CareEntitlement.area_code, 1, 9)
    ent_stmt = (select(e_town.label("township"), CareRecipient.provider_id, func.count().label("persons"),
                       type_coerce(func.sum(CareEntitlement.hours), Numeric(14, 2)).label("hours"))
                .outerjoin(CareRecipient, CareRecipient.person_id == CareEntitlement.person_id)
                .where(CareEntitlement.from_month <= month,
                       or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month)))
    ent_stmt = provider_scope(ent_stmt, actor, area=CareEntitlement.area_code, org=CareRecipient.provider_key)
    v_town = func.substr(CareVisit.area_code, 1, 9)
    visit_stmt = (select(v_town.label("township"), CareVisit.provider_id, CareVisit.status,
                         func.count().label("n"), func.sum(CareVisit.planned_minutes).label("planned"),
                         func.sum(func.coalesce(CareVisit.minutes, 0)).label("minutes"),
                         func.sum(func.coalesce(CareVisit.counted_minutes, 0)).label("counted"))
                  .where(CareVisit.visit_date >= month, CareVisit.visit_date < next_month(month)))
    visit_stmt = provider_scope(visit_stmt, actor, area=CareVisit.area_code, org=CareVisit.provider_key)
    if area:
        ent_stmt = under(ent_stmt, CareEntitlement.area_code, area)
        visit_stmt = under(visit_stmt, CareVisit.area_code, area)
    ent = read_frame(session, ent_stmt.group_by(e_town, CareRecipient.provider_id)).with_columns(
        entitled=pl.col("hours").cast(pl.Float64) * 60, persons=pl.col("persons").cast(pl.Int64))
    vis = read_frame(session, visit_stmt.group_by(v_town, CareVisit.provider_id, CareVisit.status)).with_columns(
        pl.col("n", "planned", "minutes", "counted").cast(pl.Int64)).with_columns(
        scheduled=pl.when(pl.col("status") != VisitStatus.CANCELLED.value).then(pl.col("planned")).otherwise(0),
        delivered=pl.when(pl.col("status").is_in([str(s) for s in DELIVERED])).then(pl.col("minutes")).otherwise(0),
        verified=pl.when(pl.col("status").is_in([str(s) for s in PAID_STATUSES])).then(pl.col("counted"))
        .otherwise(0),
        missed=pl.when(pl.col("status") == VisitStatus.MISSED.value).then(pl.col("n")).otherwise(0),
        flagged=pl.when(pl.col("status") == VisitStatus.FLAGGED.value).then(pl.col("n")).otherwise(0),
    )
    sums = [pl.col(c).fill_null(0).sum() for c in ("scheduled", "delivered", "verified", "missed", "flagged")]

    def table(key: str, names: dict[Any, str]) -> list[dict[str, Any]]:
        e = ent.group_by(key).agg(pl.col("entitled").sum(), pl.col("persons").sum())
        v = vis.group_by(key).agg(*sums, visits=pl.col("n").sum())
        joined = e.join(v, on=key, how="full", coalesce=True).fill_null(0).sort(key)
        return [{"key": r[key], "name": names.get(r[key], str(r[key])), "persons": r["persons"],
                 "visits": r["visits"], "missed": r["missed"], "flagged": r["flagged"],
                 **{c: round(r[c] / 60, 1) for c in ("entitled", "scheduled", "delivered", "verified")}}
                for r in joined.iter_rows(named=True) if r[key] is not None]

    towns = set(ent["township"].to_list()) | set(vis["township"].to_list())
    area_names = dict(session.execute(select(Area.code, Area.name).where(Area.code.in_(sorted(towns)))).all())
    prov_names = dict(session.execute(select(CareProvider.id, CareProvider.name)).all())
    totals = {"entitled": round(float(ent["entitled"].sum() or 0) / 60, 1),
              **{c: round(float(vis[c].fill_null(0).sum() or 0) / 60, 1)
                 for c in ("scheduled", "delivered", "verified")}}
    status_counts = {str(k): int(n) for k, n in vis.group_by("status").agg(pl.col("n").sum()).iter_rows()}
    rules = care_rules(area or actor.area_code, today)
    d = Dashboard(month, totals, table("township", area_names), table("provider_id", prov_names), status_counts,
                  no_visit_days=rules.no_visit_days)
    d.no_visit = without_visits(session, actor=actor, today=today, days=rules.no_visit_days, area=area)
    fb = provider_scope(select(func.avg(CareFeedback.satisfaction), func.count())
                        .where(CareFeedback.kind == FeedbackKind.RETURN_VISIT),
                        actor, area=CareFeedback.area_code, org=CareFeedback.provider_key)
    avg, n = session.execute(fb).one()
    d.satisfaction, d.return_visits = (round(float(avg), 2) if avg is not None else None), int(n)
    d.open_complaints = session.scalar(provider_scope(
        select(func.count()).where(CareFeedback.kind == FeedbackKind.COMPLAINT,
                                   CareFeedback.status == FeedbackStatus.OPEN),
        actor, area=CareFeedback.area_code, org=CareFeedback.provider_key)) or 0
    return d


def without_visits(session: Session, *, actor: Actor, today: date, days: int, area: str = "",
                   limit: int = 200) -> list[dict[str, Any]]:
    """Entitled persons with no checked-in visit in the last `days` days (or none at all), longest first."""
    month = month_start(today)
    last = (select(CareVisit.person_id, func.max(CareVisit.visit_date).label("last"))
            .where(CareVisit.check_in_at.is_not(None), CareVisit.visit_date <= today)
            .group_by(CareVisit.person_id).subquery())
    stmt = (select(CareEntitlement.person_id, Person.name, CareEntitlement.area_code, last.c.last)
            .join(Person, Person.id == CareEntitlement.person_id)
            .outerjoin(CareRecipient, CareRecipient.person_id == CareEntitlement.person_id)
            .outerjoin(last, last.c.person_id == CareEntitlement.person_id)
            .where(CareEntitlement.from_month <= month,
                   or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month),
                   or_(last.c.last.is_(None), last.c.last < today - timedelta(days=days))))
    stmt = provider_scope(stmt, actor, area=CareEntitlement.area_code, org=CareRecipient.provider_key)
    if area:
        stmt = under(stmt, CareEntitlement.area_code, area)
    rows = session.execute(stmt.order_by(last.c.last.is_not(None), last.c.last, CareEntitlement.person_id)
                           .limit(limit)).all()
    return [{"person_id": r[0], "name": r[1], "area_code": r[2], "last": r[3],
             "days": (today - r[3]).days if r[3] else None} for r in rows]


def township_chart(d: Dashboard) -> dict[str, Any]:
    """An ECharts option: hours entitled, scheduled, delivered and verified per township."""
    names = [str(r["name"]) for r in d.by_township]
    series = [{"name": label, "type": "bar", "data": [r[key] for r in d.by_township]}
              for label, key in (("核定", "entitled"), ("排班", "scheduled"), ("已服务", "delivered"),
                                 ("核验通过", "verified"))]
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True, "left": 8, "right": 16},
            "xAxis": {"type": "category", "data": names}, "yAxis": {"type": "value", "name": "小时"},
            "series": series}


def status_chart(d: Dashboard, labels: dict[str, str]) -> dict[str, Any]:
    """An ECharts option: the month's visits by state."""
    data = [{"name": labels.get(k, k), "value": n} for k, n in sorted(d.status_counts.items())]
    return {"title": {"text": "本月上门服务状态", "left": "center"}, "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"], "data": data}]}
