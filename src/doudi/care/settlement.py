"""Monthly provider settlement: verified hours only × the contract price, once per provider and month, and the
payable frame the payments domain reads. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.care.models import (
    PAID_STATUSES,
    CareEntitlement,
    CareProvider,
    CareSettlement,
    CareSettlementLine,
    CareSettlementVisit,
    CareVisit,
    SettlementStatus,
    VisitStatus,
)
from doudi.care.rules import settle_sums
from doudi.care.service import provider_scope, providers
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
    each person's minutes capped at the month's entitlement. At most once per provider and month."""
    actor.require("care.settle")
    month = month_start(month)
    if month >= month_start(today):
        raise Conflict(f"{month:%Y年%m月} 尚未结束，月末之后才能结算")
    created: list[CareSettlement] = []
    skipped: list[str] = []
    for p in providers(session, actor=actor):
        if provider_id is not None and p.id != provider_id:
            continue
        done = session.scalar(select(CareSettlement.id).where(CareSettlement.provider_id == p.id,
                                                              CareSettlement.month == month))
        if done is not None:
            skipped.append(f"{p.name} {month:%Y年%m月} 已结算（结算单 #{done}），不重复结算")
            continue
        if not _has_visits(session, p.id, month):
            skipped.append(f"{p.name} {month:%Y年%m月} 无上门服务记录，无需结算")
            continue
        created.append(_settle_provider(session, actor=actor, provider=p, month=month))
    return SettleOutcome(created, skipped)


def _has_visits(session: Session, provider_id: int, month: date) -> bool:
    return session.scalar(select(CareVisit.id).where(
        CareVisit.provider_id == provider_id, CareVisit.visit_date >= month,
        CareVisit.visit_date < next_month(month)).limit(1)) is not None


def _settle_provider(session: Session, *, actor: Actor, provider: CareProvider, month: date) -> CareSettlement:
    # Claiming the provider serialises the settlement with supervisors' reviews of its visits (they claim it too).
    versions.claim(session, provider, label="服务机构")
    s = CareSettlement(provider_id=provider.id, provider_key=provider.key, area_code=provider.area_code, month=month,
                       visits=0, paid_minutes=0, unpaid_visits=0, hourly_rate=provider.hourly_rate, amount_fen=0,
                       status=SettlementStatus.CONFIRMED, created_by=actor.username)
    session.add(s)
    session.flush()  # the unique (provider, month) stops a concurrent second run here
    paid_rows = [CareVisit.provider_id == provider.id, CareVisit.visit_date >= month,
                 CareVisit.visit_date < next_month(month), CareVisit.status.in_([str(st) for st in PAID_STATUSES])]
    minutes = func.coalesce(CareVisit.counted_minutes, 0)
    # One row per paid visit, written by the database itself; the unique visit_id means a visit can never be
    # paid by a second settlement.
    session.execute(insert(CareSettlementVisit).from_select(
        ["settlement_id", "visit_id", "minutes"],
        select(literal(s.id), CareVisit.id, minutes).where(*paid_rows)))
    per = read_frame(session, select(CareVisit.person_id, func.min(CareVisit.area_code).label("area_code"),
                                     func.count().label("visits"), func.sum(minutes).label("verified_minutes"))
                     .where(*paid_rows).group_by(CareVisit.person_id))
    paid_people = select(CareVisit.person_id).where(*paid_rows).distinct()
    ent = read_frame(session, select(CareEntitlement.person_id, CareEntitlement.hours).where(
        CareEntitlement.person_id.in_(paid_people), CareEntitlement.from_month <= month,
        or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month))).with_columns(
        entitled_minutes=(pl.col("hours").cast(pl.Float64) * 60).round(0).cast(pl.Int64))
    lines = settle_sums(per, ent, provider.hourly_rate)
    if lines.height:
        write_frame(session, CareSettlementLine, lines.with_columns(settlement_id=pl.lit(s.id, pl.Int64)))
    unpaid = session.scalar(select(func.count()).select_from(CareVisit).where(
        CareVisit.provider_id == provider.id, CareVisit.visit_date >= month, CareVisit.visit_date < next_month(month),
        CareVisit.status.in_(UNPAID))) or 0
    s.visits, s.unpaid_visits = int(lines["visits"].sum() or 0), int(unpaid)
    s.paid_minutes, s.amount_fen = int(lines["paid_minutes"].sum() or 0), int(lines["amount_fen"].sum() or 0)
    audit.record(session, actor=actor, action="care.settle", object_type="care_settlement", object_id=s.id,
                 area_code=s.area_code, after={"provider": provider.key, "month": f"{month:%Y-%m}",
                                               "paid_minutes": s.paid_minutes, "amount_fen": s.amount_fen,
                                               "unpaid_visits": s.unpaid_visits})
    return s


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
