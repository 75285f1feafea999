"""Monthly provider settlement: verified hours only × the contract price, once per provider and month, and the
payable frame the payments domain reads. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.care.models import (
    PAID_STATUSES,
    CareProvider,
    CareSettlement,
    CareSettlementLine,
    CareVisit,
    SettlementStatus,
    VisitStatus,
)
from doudi.care.rules import settle_lines
from doudi.care.service import entitlement_frame, provider_scope, providers
from doudi.core.dates import month_start, next_month
from doudi.core.errors import Conflict
from doudi.db import versions
from doudi.db.frames import read_frame, write_frame

PAYABLE_COMPONENT = "provider_payable"
# Visits of the month that are listed as not paid (a cancellation was never a service).
UNPAID = [str(s) for s in (VisitStatus.FLAGGED, VisitStatus.REJECTED, VisitStatus.MISSED, VisitStatus.IN_PROGRESS,
                           VisitStatus.SCHEDULED)]


@dataclass(frozen=True)
class SettleOutcome:
    """What one settlement run produced, and what it skipped (already settled)."""

    created: list[CareSettlement]
    skipped: list[str]


def settle_month(session: Session, *, actor: Actor, month: date, today: date,
                 provider_id: int | None = None) -> SettleOutcome:
    """Settle a finished month for every provider the actor sees (or one): verified and accepted visits only,
    each person's minutes capped at the month's entitlement. At most once per provider and month.

    Column-wise for a whole county: one grouped read of the month's visits and one of its entitlements, the
    amounts computed on the frame for every provider at once, the lines written by COPY. A settled month is
    frozen (no check-out or review changes its visits), so the paid visits are its verified and accepted ones."""
    actor.require("care.settle")
    month = month_start(month)
    if month >= month_start(today):
        raise Conflict(f"{month:%Y年%m月} 尚未结束，月末之后才能结算")
    seen = [p for p in providers(session, actor=actor) if provider_id is None or p.id == provider_id]
    done = dict(session.execute(select(CareSettlement.provider_id, CareSettlement.id).where(
        CareSettlement.month == month, CareSettlement.provider_id.in_([p.id for p in seen]))).all())
    todo = [p for p in seen if p.id not in done]
    for p in todo:  # before the read: waits for supervisors' reviews and late check-outs of its visits, then stops them
        versions.claim(session, p, label="服务机构")
    sums = _visit_sums(session, month, [p.id for p in todo])
    active = set(sums["provider_id"].to_list())
    created: list[CareSettlement] = []
    skipped: list[str] = []
    for p in seen:
        if p.id in done:
            skipped.append(f"{p.name} {month:%Y年%m月} 已结算（结算单 #{done[p.id]}），不重复结算")
        elif p.id not in active:
            skipped.append(f"{p.name} {month:%Y年%m月} 无上门服务记录，无需结算")
        else:
            created.append(CareSettlement(provider_id=p.id, provider_key=p.key, area_code=p.area_code, month=month,
                                          visits=0, paid_minutes=0, unpaid_visits=0, hourly_rate=p.hourly_rate,
                                          amount_fen=0, status=SettlementStatus.CONFIRMED,
                                          created_by=actor.username))
    if not created:
        return SettleOutcome(created, skipped)
    session.add_all(created)
    session.flush()  # the unique (provider, month) stops a concurrent second run here
    keys = pl.DataFrame({"provider_id": [s.provider_id for s in created], "settlement_id": [s.id for s in created],
                         "rate_fen": [int((s.hourly_rate * 100).to_integral_value()) for s in created]},
                        schema={"provider_id": pl.Int64, "settlement_id": pl.Int64, "rate_fen": pl.Int64})
    sums = sums.join(keys, on="provider_id")
    paid = sums.filter(pl.col("visits") > 0)
    ent = entitlement_frame(session, month=month, person_ids=None)
    lines = settle_lines(paid.select("settlement_id", "rate_fen", "person_id", "area_code", "visits",
                                     "verified_minutes"), ent)
    if lines.height:
        write_frame(session, CareSettlementLine, lines.drop("rate_fen"))
    totals = {r["settlement_id"]: r for r in lines.group_by("settlement_id").agg(
        pl.col("visits", "paid_minutes", "amount_fen").sum()).iter_rows(named=True)}
    unpaid = dict(sums.group_by("settlement_id").agg(pl.col("unpaid").sum()).iter_rows())
    for s in created:
        t = totals.get(s.id, {})
        s.visits, s.unpaid_visits = int(t.get("visits") or 0), int(unpaid.get(s.id) or 0)
        s.paid_minutes, s.amount_fen = int(t.get("paid_minutes") or 0), int(t.get("amount_fen") or 0)
        audit.record(session, actor=actor, action="care.settle", object_type="care_settlement", object_id=s.id,
                     area_code=s.area_code, after={"provider": s.provider_key, "month": f"{month:%Y-%m}",
                                                   "paid_minutes": s.paid_minutes, "amount_fen": s.amount_fen,
                                                   "unpaid_visits": s.unpaid_visits})
    return SettleOutcome(created, skipped)


def _visit_sums(session: Session, month: date, provider_ids: list[int]) -> pl.DataFrame:
    """Per provider and person of the month: paid visits, their counted minutes, unpaid visits (one scan)."""
    paid = CareVisit.status.in_([str(st) for st in PAID_STATUSES])
    stmt = (select(CareVisit.provider_id, CareVisit.person_id,
                   func.min(case((paid, CareVisit.area_code))).label("area_code"),
                   func.sum(case((paid, 1), else_=0)).label("visits"),
                   func.sum(case((paid, func.coalesce(CareVisit.counted_minutes, 0)), else_=0))
                   .label("verified_minutes"),
                   func.sum(case((CareVisit.status.in_(UNPAID), 1), else_=0)).label("unpaid"))
            .where(CareVisit.visit_date >= month, CareVisit.visit_date < next_month(month),
                   CareVisit.provider_id.in_(provider_ids))
            .group_by(CareVisit.provider_id, CareVisit.person_id))
    schema = {"provider_id": pl.Int64, "person_id": pl.Int64, "area_code": pl.String, "visits": pl.Int64,
              "verified_minutes": pl.Int64, "unpaid": pl.Int64}
    return read_frame(session, stmt, schema=schema)


def settlements(session: Session, *, actor: Actor, month: date | None = None) -> list[tuple[CareSettlement, str]]:
    """Settlements the actor sees, with the provider's name, newest month first."""
    actor.require("care.read")
    stmt = select(CareSettlement, CareProvider.name).join(CareProvider, CareProvider.id == CareSettlement.provider_id)
    stmt = provider_scope(stmt, actor, area=CareSettlement.area_code, org=CareSettlement.provider_key)
    if month is not None:
        stmt = stmt.where(CareSettlement.month == month_start(month))
    rows = session.execute(stmt.order_by(CareSettlement.month.desc(), CareProvider.name)).all()
    return [(s, n) for s, n in rows]


def settlement_lines(session: Session, *, settlement_id: int) -> pl.DataFrame:
    """The person lines of a settlement, with names (for the sheet)."""
    from doudi.registry.models import Person

    return read_frame(session, select(CareSettlementLine.person_id, Person.name, CareSettlementLine.area_code,
                                      CareSettlementLine.visits, CareSettlementLine.verified_minutes,
                                      CareSettlementLine.entitled_minutes, CareSettlementLine.paid_minutes,
                                      CareSettlementLine.amount_fen)
                      .join(Person, Person.id == CareSettlementLine.person_id)
                      .where(CareSettlementLine.settlement_id == settlement_id)
                      .order_by(CareSettlementLine.area_code, CareSettlementLine.person_id))


def unpaid_visits(session: Session, *, settlement: CareSettlement) -> pl.DataFrame:
    """The month's visits of the provider that were not paid (flagged, rejected, missed, …), with the reason."""
    return read_frame(session, select(CareVisit.id, CareVisit.person_id, CareVisit.visit_date, CareVisit.status,
                                      CareVisit.reason)
                      .where(CareVisit.provider_id == settlement.provider_id, CareVisit.visit_date >= settlement.month,
                             CareVisit.visit_date < next_month(settlement.month),
                             CareVisit.status.in_(UNPAID))
                      .order_by(CareVisit.visit_date, CareVisit.id))


def provider_payables(session: Session, *, month: date, area: str = "") -> pl.DataFrame:
    """The seam for payments: one row per confirmed provider settlement of `month`
    (settlement_id, provider_key, provider_name, area_code, month, component, amount_fen, amount as Decimal yuan).
    The (provider, month) unique constraint means each provider appears at most once a month."""
    stmt = (select(CareSettlement.id.label("settlement_id"), CareSettlement.provider_key,
                   CareProvider.name.label("provider_name"), CareSettlement.area_code, CareSettlement.month,
                   CareSettlement.amount_fen)
            .join(CareProvider, CareProvider.id == CareSettlement.provider_id)
            .where(CareSettlement.month == month_start(month), CareSettlement.status == SettlementStatus.CONFIRMED))
    if area:
        stmt = under(stmt, CareSettlement.area_code, area)
    frame = read_frame(session, stmt.order_by(CareSettlement.provider_key))
    return frame.with_columns(
        component=pl.lit(PAYABLE_COMPONENT),
        amount=pl.col("amount_fen").cast(pl.Decimal(14, 2)) / 100,
    )


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen as Decimal yuan."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def settled(session: Session, *, provider_id: int, day: date) -> int | None:
    """The settlement that closed the provider's month of `day`, if any (its visits can no longer change)."""
    return session.scalar(select(CareSettlement.id).where(CareSettlement.provider_id == provider_id,
                                                          CareSettlement.month == month_start(day)))
