"""Support tables: one-to-one plans with goals and visits, training referrals and their outcome, enterprise
pairing agreements and the items they pledge."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Timestamped, Versioned


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(v.value) for v in values)})"


class PlanStatus(StrEnum):
    """A support plan is open until closed with a reason."""

    OPEN = "open"
    CLOSED = "closed"


class GoalArea(StrEnum):
    """What a goal is about."""

    INCOME = "income"
    HEALTH = "health"
    EDUCATION = "education"
    EMPLOYMENT = "employment"


class GoalStatus(StrEnum):
    """A goal's progress."""

    OPEN = "open"
    MET = "met"
    NOT_MET = "not_met"


class ReferralStatus(StrEnum):
    """A training referral: referred, trained, then employed or not."""

    REFERRED = "referred"
    TRAINED = "trained"
    EMPLOYED = "employed"
    NOT_EMPLOYED = "not_employed"


class PairingStatus(StrEnum):
    """An enterprise pairing agreement."""

    ACTIVE = "active"
    ENDED = "ended"


class ItemStatus(StrEnum):
    """A pledged item: pledged until delivered."""

    PLEDGED = "pledged"
    DELIVERED = "delivered"


class Plan(Timestamped, Versioned, Base):
    """A one-to-one support plan for a household with its assigned social worker."""

    __tablename__ = "charity_support_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("charity_needs.id"), index=True)
    worker_name: Mapped[str] = mapped_column(String(64))
    worker_phone: Mapped[str] = mapped_column(String(20), default="")
    partner_key: Mapped[str | None] = mapped_column(String(64), index=True)  # the social-work organisation
    status: Mapped[str] = mapped_column(String(12), default=PlanStatus.OPEN, index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        CheckConstraint(_in("status", PlanStatus), name="status"),
        # One open plan per household: a second one is refused by the database.
        Index("uq_charity_support_plans_open", "household_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )


class Goal(Base):
    """One goal of a plan (income, health, education, employment) and its progress."""

    __tablename__ = "charity_support_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("charity_support_plans.id", ondelete="CASCADE"), index=True)
    area: Mapped[str] = mapped_column(String(12))
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=GoalStatus.OPEN)
    progress: Mapped[str] = mapped_column(String(300), default="")
    met_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint(_in("area", GoalArea), name="area"),
        CheckConstraint(_in("status", GoalStatus), name="status"),
    )


class Visit(Base):
    """A visit under a plan: when, by whom, what was found and agreed."""

    __tablename__ = "charity_support_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("charity_support_plans.id", ondelete="CASCADE"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    visitor: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("plan_id", "visited_on", "visitor", name="uq_charity_support_visits_once"),)


class Training(Timestamped, Versioned, Base):
    """A 社工+家政 training referral of a household member, and whether it led to a job."""

    __tablename__ = "charity_support_trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("charity_support_plans.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    course: Mapped[str] = mapped_column(String(100))
    partner_key: Mapped[str | None] = mapped_column(String(64))  # the training provider
    referred_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(14), default=ReferralStatus.REFERRED, index=True)
    employer: Mapped[str] = mapped_column(String(100), default="")
    monthly_wage_fen: Mapped[int | None] = mapped_column(BigInteger)
    outcome_on: Mapped[date | None] = mapped_column(Date)
    review_warning_id: Mapped[int | None] = mapped_column(Integer)  # the 渐退 review raised on employment

    __table_args__ = (
        CheckConstraint(_in("status", ReferralStatus), name="status"),
        UniqueConstraint("plan_id", "person_id", "course", name="uq_charity_support_trainings_once"),
    )


class Pairing(Timestamped, Versioned, Base):
    """An enterprise's pairing agreement (签约帮扶) with a household: what it pledges and for how long."""

    __tablename__ = "charity_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_key: Mapped[str] = mapped_column(String(64), index=True)
    company_name: Mapped[str] = mapped_column(String(100))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    pledge: Mapped[str] = mapped_column(String(300))
    signed_on: Mapped[date] = mapped_column(Date)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=PairingStatus.ACTIVE, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        CheckConstraint(_in("status", PairingStatus), name="status"),
        CheckConstraint("end_on >= start_on", name="period"),
        UniqueConstraint("partner_key", "household_id", "start_on", name="uq_charity_pairings_once"),
    )


class PairingItem(Timestamped, Versioned, Base):
    """One pledged item of an agreement, due on a date, and its delivery."""

    __tablename__ = "charity_pairing_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("charity_pairings.id", ondelete="CASCADE"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # cash | goods | service | job
    description: Mapped[str] = mapped_column(String(200))
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default=ItemStatus.PLEDGED, index=True)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    delivery_note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        CheckConstraint(_in("status", ItemStatus), name="status"),
        CheckConstraint("kind in ('cash', 'goods', 'service', 'job')", name="kind"),
        CheckConstraint("value_fen >= 0", name="value"),
        CheckConstraint("(status = 'delivered') = (delivered_on is not null)", name="delivered"),
    )
