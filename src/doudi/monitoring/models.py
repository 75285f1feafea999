"""Monitoring tables: comparison runs, compared feed batches, the warning ledger (预警台账) and referrals (转办)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
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


class WarningStatus(StrEnum):
    """Where a warning stands: new → assigned → verifying → disposed → closed."""

    NEW = "new"
    ASSIGNED = "assigned"
    VERIFYING = "verifying"
    DISPOSED = "disposed"
    CLOSED = "closed"


class Level(StrEnum):
    """分级预警: red 红, orange 橙, yellow 黄."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"


class Disposition(StrEnum):
    """What the township decided to do about a warning."""

    NO_ACTION = "no_action"
    REVIEW = "review"
    APPLICATION = "application"
    SUSPEND = "suspend"
    REFER = "refer"


class TargetKind(StrEnum):
    """Who a referral goes to: a government agency or a charity / social organisation."""

    AGENCY = "agency"
    PARTNER = "partner"


class ReferralStatus(StrEnum):
    """A referral: sent → acknowledged → answered (or withdrawn)."""

    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(str(v)) for v in enum)})"


class MonitorRun(Base):
    """One comparison run: its date, scope, pack version and what each rule found."""

    __tablename__ = "monitoring_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_on: Mapped[date] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(String(12), default="")  # '' = everything the system sees
    pack_version: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    batches: Mapped[list[int]] = mapped_column(JSON, default=list)  # feed batches compared for the first time
    counts: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # rule → {found, new, attached}
    actor: Mapped[str] = mapped_column(String(64), default="")


class ComparedBatch(Base):
    """A feed batch already compared, so a later run reads only new batches (incremental, never twice)."""

    __tablename__ = "monitoring_compared_batches"

    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.id"), index=True)


class MonitorWarning(Timestamped, Versioned, Base):
    """One warning of the ledger: rule, subject, evidence with provenance, owner township, deadline, answer."""

    __tablename__ = "monitoring_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(32))  # looked up through ix_monitoring_warnings_rule_subject
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=WarningStatus.NEW)
    discovery: Mapped[bool] = mapped_column(Boolean, default=False)  # 主动发现: not (yet) a recipient
    subject_key: Mapped[str] = mapped_column(String(40))  # p<person> | h<household> | i<id number>
    # rule:subject while the warning is open, NULL once closed: one open warning per rule and subject,
    # enforced by the database whatever runs concurrently.
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # No foreign keys on person, household and run: a run writes hundreds of thousands of warnings by COPY, and
    # PostgreSQL checks a foreign key row by row (a lookup and a row lock on the person, the household and the
    # run: about half the database's work of a county-wide run). Triggers keep the same rules, checked once per
    # statement (migrations 2310 and 2700; see the README).
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    household_id: Mapped[int | None] = mapped_column(Integer, index=True)
    area_code: Mapped[str] = mapped_column(String(12))  # ix_monitoring_warnings_area_status
    person_name: Mapped[str] = mapped_column(String(64), default="")
    id_number: Mapped[str] = mapped_column(String(18), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why, in Chinese, with the values compared
    values: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    evidence: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)  # [{batch_id, row_number, source}]
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # what was found; a dismissal holds for it
    pack_version: Mapped[str] = mapped_column(String(40), default="")
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # ix_monitoring_warnings_due_id
    run_id: Mapped[int | None] = mapped_column(Integer)  # the run that raised it (monitoring_runs.id)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposition: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")  # verification findings and the disposition's reason
    disposed_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the application a lead became

    __table_args__ = (
        CheckConstraint(_in("status", WarningStatus), name="status"),
        CheckConstraint(_in("level", Level), name="level"),
        CheckConstraint(f"disposition is null or {_in('disposition', Disposition)}", name="disposition"),
        CheckConstraint("(status = 'closed') = (open_key is null)", name="open_key"),
        # The ledger's page: an area's warnings in a status, counted from the index alone; and a page in due order
        # read from the index, not sorted (migration 2720).
        Index("ix_monitoring_warnings_area_status", "area_code", "status"),
        Index("ix_monitoring_warnings_due_id", "due_on", "id"),
        # Partial indexes: a newly raised warning (no case, not closed) enters neither.
        Index("ix_monitoring_warnings_case_id", "case_id", postgresql_where=text("case_id IS NOT NULL"),
              sqlite_where=text("case_id IS NOT NULL")),
        Index("ix_monitoring_warnings_dismissed", "fingerprint", postgresql_where=text("status = 'closed'"),
              sqlite_where=text("status = 'closed'")),
        # Room on each page: new evidence for an open warning is then a heap-only update (migration 2710).
        {"postgresql_with": {"fillfactor": 85}},
    )


class WarningSide(Base):
    """One county's side of a warning raised above the counties (a 重复 across two counties): the county sees the
    warning through it, and only its own household."""

    __tablename__ = "monitoring_warning_sides"

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("monitoring_warnings.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("warning_id", "household_id", name="uq_monitoring_warning_sides_household"),)


class Referral(Timestamped, Versioned, Base):
    """转办推送: a warning (or household) referred to an agency or partner, with deadline, acknowledgement, result."""

    __tablename__ = "monitoring_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_warnings.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    target_kind: Mapped[str] = mapped_column(String(8))
    target_key: Mapped[str] = mapped_column(String(32), index=True)  # agency data-source key or partner key
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=ReferralStatus.SENT, index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    result: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(Integer)
    escalated_on: Mapped[date | None] = mapped_column(Date)  # 督办: unanswered past due_on, raised to the county
    escalated_to: Mapped[str] = mapped_column(String(12), default="", server_default="")

    __table_args__ = (
        CheckConstraint(_in("target_kind", TargetKind), name="target_kind"),
        CheckConstraint(_in("status", ReferralStatus), name="status"),
    )
