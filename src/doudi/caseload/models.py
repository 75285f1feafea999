"""What an imported (存量) enrollment carries beyond the enrollment itself: the ledger's decision and origin."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base


class MigratedEnrollment(Base):
    """An enrollment brought in from a county's ledger (存量对象), keyed by program, household and person."""

    __tablename__ = "migrated_enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), unique=True)
    # program|household_no|id_number: a re-import of the same ledger row finds its enrollment again.
    legacy_key: Mapped[str] = mapped_column(String(80), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"), index=True)
    row_number: Mapped[int] = mapped_column()
    decision_date: Mapped[date | None] = mapped_column(Date)  # 原审批日期
    decision_no: Mapped[str] = mapped_column(String(64), default="")  # 原审批文号
    support_mode: Mapped[str | None] = mapped_column(String(16))  # 供养方式 of a 特困 person
    start_known: Mapped[bool] = mapped_column(default=True)  # False: the ledger gave no start month
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("support_mode is null or support_mode in ('centralized','dispersed')", name="support_mode"),
    )
