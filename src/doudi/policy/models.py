"""Assessment runs and their stored decisions (one row per household and program; eligible members)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, one_of


class RunStatus(StrEnum):
    """An assessment run (stored once it has completed)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

Money = Numeric(14, 2)


class AssessmentRun(Base):
    """One batch assessment (``doudi assess``): what was evaluated, on which date, with which packs."""

    __tablename__ = "assessment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    eval_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # registry | snapshot
    source_detail: Mapped[str] = mapped_column(String(255), default="")
    area_prefix: Mapped[str] = mapped_column(String(12), default="")
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.COMPLETED.value)  # RunStatus
    households: Mapped[int] = mapped_column(default=0)
    persons: Mapped[int] = mapped_column(default=0)
    pack_versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (one_of("status", RunStatus),)


class AssessmentDecision(Base):
    """A program decision for one household in one run."""

    __tablename__ = "assessment_decisions"

    # BIGINT on PostgreSQL (millions of rows per run); SQLite needs INTEGER for its rowid primary key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_runs.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(BigInteger)  # registry id, or the snapshot's own key
    area_code: Mapped[str] = mapped_column(String(12))
    program: Mapped[str] = mapped_column(String(32))
    eligible: Mapped[bool] = mapped_column()
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    level: Mapped[str | None] = mapped_column(String(24))
    persons: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[str] = mapped_column(String(600), default="")
    pack_region: Mapped[str] = mapped_column(String(12))
    pack_version: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_assessment_decisions_run_program", "run_id", "program", "eligible"),
        Index("ix_assessment_decisions_household", "household_id"),
    )


class AssessmentMemberDecision(Base):
    """A per-person entitlement (特困, child allowance, disability subsidy, 低保 single person) in one run."""

    __tablename__ = "assessment_member_decisions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_runs.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(BigInteger)
    member_idx: Mapped[int] = mapped_column()
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    program: Mapped[str] = mapped_column(String(32))
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    level: Mapped[str | None] = mapped_column(String(24))
    care_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))

    __table_args__ = (Index("ix_assessment_member_decisions_person", "person_id"),)
