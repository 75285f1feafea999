"""Home care of dispersed 特困 persons: assessments, entitlements, providers, caregivers, visits, settlements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Timestamped, Versioned


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} in ({','.join(repr(str(v)) for v in enum)})"


class Level(StrEnum):
    """Self-care ability (特困人员认定办法 Art. 21–22)."""

    SELF_CARE = "self_care"  # 全自理
    PARTIAL = "partial"  # 半自理
    FULL = "full"  # 不能自理


class Trigger(StrEnum):
    """Why an assessment was made."""

    INITIAL = "initial"  # 首次评估
    MONITORING = "monitoring"  # 动态监测：住院、残疾等级变化
    CAREGIVER = "caregiver"  # 护理员报告
    YEARLY = "yearly"  # 年度复核


class EntitlementStatus(StrEnum):
    """An entitlement period is in force or ended."""

    ACTIVE = "active"
    ENDED = "ended"


class VisitStatus(StrEnum):
    """The visit lifecycle: scheduled → in_progress → verified | flagged → accepted | rejected; or missed,
    cancelled. Only verified and accepted visits are paid."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFIED = "verified"
    FLAGGED = "flagged"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MISSED = "missed"
    CANCELLED = "cancelled"


PAID_STATUSES = (VisitStatus.VERIFIED, VisitStatus.ACCEPTED)
OPEN_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS)
BOOKED_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS, VisitStatus.VERIFIED, VisitStatus.FLAGGED,
                   VisitStatus.ACCEPTED)


class FeedbackKind(StrEnum):
    """A supervisor's phone return visit, or a complaint."""

    RETURN_VISIT = "return_visit"
    COMPLAINT = "complaint"


class FeedbackStatus(StrEnum):
    """Complaints are tracked to closure; return visits are closed when recorded."""

    OPEN = "open"
    CLOSED = "closed"


class SettlementStatus(StrEnum):
    """A provider's monthly settlement: drafted, then confirmed (handed to payments)."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"


class CareAssessment(Base):
    """One assessment of the six self-care items of 特困人员认定办法 Art. 22 (True = the person manages alone)."""

    __tablename__ = "care_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(64))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    eating: Mapped[bool] = mapped_column(Boolean)  # 自主吃饭
    dressing: Mapped[bool] = mapped_column(Boolean)  # 自主穿衣
    bed_transfer: Mapped[bool] = mapped_column(Boolean)  # 自主上下床
    toileting: Mapped[bool] = mapped_column(Boolean)  # 自主如厕
    indoor_walking: Mapped[bool] = mapped_column(Boolean)  # 室内行走
    bathing: Mapped[bool] = mapped_column(Boolean)  # 自主洗澡
    unable_items: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    trigger: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text, default="")
    effective_month: Mapped[date] = mapped_column(Date)  # first day of the first month under this level
    previous_level: Mapped[str | None] = mapped_column(String(16))
    next_due_on: Mapped[date] = mapped_column(Date, index=True)  # the yearly review
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(_in("level", Level), name="level"),
        CheckConstraint(_in("trigger", Trigger), name="trigger"),
        CheckConstraint("unable_items between 0 and 6", name="unable_items"),
        CheckConstraint("hours >= 0", name="hours"),
    )


class ReassessmentRequest(Base):
    """A re-assessment that is due: raised by monitoring, a caregiver's report, or the yearly review."""

    __tablename__ = "care_reassessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("care_assessments.id"))
    raised_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (CheckConstraint(_in("trigger", Trigger), name="trigger"),)


class CareEntitlement(Base):
    """Hours a month a dispersed 特困 person is entitled to over a period of months [from, to)."""

    __tablename__ = "care_entitlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("care_assessments.id"))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    level: Mapped[str] = mapped_column(String(16))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    from_month: Mapped[date] = mapped_column(Date)
    to_month: Mapped[date | None] = mapped_column(Date)  # first month no longer covered
    status: Mapped[str] = mapped_column(String(8), default=EntitlementStatus.ACTIVE)
    end_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(_in("level", Level), name="level"),
        CheckConstraint(_in("status", EntitlementStatus), name="status"),
        CheckConstraint("to_month is null or to_month > from_month", name="period"),
        UniqueConstraint("person_id", "from_month", name="uq_care_entitlements_person_month"),
    )


class CareProvider(Timestamped, Versioned, Base):
    """A procured home-care provider and its contract (period, townships served, hourly price, catalogue)."""

    __tablename__ = "care_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # users.org_key of its accounts
    name: Mapped[str] = mapped_column(String(100))
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the county that procured it
    contract_no: Mapped[str] = mapped_column(String(40))
    contract_from: Mapped[date] = mapped_column(Date)
    contract_to: Mapped[date] = mapped_column(Date)
    townships: Mapped[list[str]] = mapped_column(JSON, default=list)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(20), default="")

    __table_args__ = (
        CheckConstraint("hourly_rate > 0", name="rate"),
        CheckConstraint("contract_to >= contract_from", name="period"),
    )


class Caregiver(Versioned, Base):
    """A caregiver of a provider; `user_id` is their sign-in account (role care_provider, the provider's org)."""

    __tablename__ = "care_caregivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("care_providers.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CareRecipient(Versioned, Base):
    """A person receiving home care: home coordinates and the provider assigned within its contract area."""

    __tablename__ = "care_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("care_providers.id"), index=True)
    provider_key: Mapped[str | None] = mapped_column(String(64), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    coords_source: Mapped[str] = mapped_column(String(16), default="")  # township | supervised_visit | synthetic
    address: Mapped[str] = mapped_column(String(200), default="")


class CareVisit(Versioned, Base):
    """One home visit, carrying the six EVV elements (service, recipient, date, location, caregiver, start/end)."""

    __tablename__ = "care_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Few indexes on purpose: a county writes and settles hundreds of thousands of visits a month.
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("care_providers.id"))
    provider_key: Mapped[str] = mapped_column(String(64))
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("care_caregivers.id"))
    service: Mapped[str] = mapped_column(String(24))
    visit_date: Mapped[date] = mapped_column(Date)
    planned_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_minutes: Mapped[int] = mapped_column(Integer)  # kept with the times, so tallies sum it in SQL
    status: Mapped[str] = mapped_column(String(16), default=VisitStatus.SCHEDULED)
    check_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    in_lat: Mapped[float | None] = mapped_column(Float)
    in_lon: Mapped[float | None] = mapped_column(Float)
    out_lat: Mapped[float | None] = mapped_column(Float)
    out_lon: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[int | None] = mapped_column(Integer)  # the larger of check-in and check-out distance
    minutes: Mapped[int | None] = mapped_column(Integer)  # check-out minus check-in, whole minutes
    counted_minutes: Mapped[int | None] = mapped_column(Integer)  # after the pack's rounding
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    services_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(200))
    check_in_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    check_out_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # cancellation, reschedule or review reason
    reviewed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint(_in("status", VisitStatus), name="status"),
        CheckConstraint("planned_end > planned_start and planned_minutes > 0", name="planned"),
        CheckConstraint("check_out_at is null or (check_in_at is not null and check_out_at > check_in_at)",
                        name="times"),
        Index("ix_care_visits_caregiver_day", "caregiver_id", "visit_date"),
        Index("ix_care_visits_person_day", "person_id", "visit_date"),
        Index("ix_care_visits_provider_day", "provider_id", "visit_date"),
        Index("ix_care_visits_day_status", "visit_date", "status"),
    )


class CareFeedback(Versioned, Base):
    """A return visit (回访) with satisfaction, or a complaint tracked to closure."""

    __tablename__ = "care_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("care_providers.id"))
    provider_key: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1 (very unsatisfied) … 5 (very satisfied)
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    recorded_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    closed_on: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(_in("kind", FeedbackKind), name="kind"),
        CheckConstraint(_in("status", FeedbackStatus), name="status"),
        CheckConstraint("satisfaction is null or satisfaction between 1 and 5", name="satisfaction"),
    )


class CareSettlement(Base):
    """A provider's settlement for one month: verified minutes × the contract price; once per provider and month."""

    __tablename__ = "care_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("care_providers.id"), index=True)
    provider_key: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    month: Mapped[date] = mapped_column(Date)
    visits: Mapped[int] = mapped_column(Integer)
    paid_minutes: Mapped[int] = mapped_column(Integer)
    unpaid_visits: Mapped[int] = mapped_column(Integer)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default=SettlementStatus.CONFIRMED)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("provider_id", "month", name="uq_care_settlements_provider_month"),
        CheckConstraint(_in("status", SettlementStatus), name="status"),
        CheckConstraint("amount_fen >= 0 and paid_minutes >= 0", name="amounts"),
    )


class CareSettlementLine(Base):
    """One person's paid minutes in a provider's month (capped at the entitlement); each person once."""

    __tablename__ = "care_settlement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (settlement, person) below leads with it; a month end writes 100k lines.
    settlement_id: Mapped[int] = mapped_column(ForeignKey("care_settlements.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    area_code: Mapped[str] = mapped_column(String(12))
    visits: Mapped[int] = mapped_column(Integer)
    verified_minutes: Mapped[int] = mapped_column(Integer)
    entitled_minutes: Mapped[int] = mapped_column(Integer)
    paid_minutes: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("settlement_id", "person_id", name="uq_care_settlement_lines_person"),)
