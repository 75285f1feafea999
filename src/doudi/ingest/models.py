"""A batch records where rows came from; rejected rows are quarantined with their row number and reason."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, one_of


class BatchStatus(StrEnum):
    """An import or feed batch."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class IngestBatch(Base):
    """One file taken in: its source, content hash, counts and outcome."""

    __tablename__ = "ingest_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # 'import' (registry) or 'feed' (agency data)
    source_key: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_ok: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.RUNNING.value)  # BatchStatus
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The area the batch belongs to (that of the user who took it in); its rows are linked to people there only.
    area_code: Mapped[str | None] = mapped_column(String(12))
    # A national feed, declared as such by the system administrator: its rows are linked to people anywhere.
    national: Mapped[bool] = mapped_column(default=False, server_default=false())
    rows_duplicate: Mapped[int] = mapped_column(default=0, server_default="0")  # recorded once, reported
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    # The same file may be taken in once per area: two counties receiving one national file each link their own.
    __table_args__ = (UniqueConstraint("kind", "source_key", "file_sha256", "area_code", name="uq_batch_content"),
                      one_of("status", BatchStatus))


class RejectedRow(Base):
    """A quarantined input row: never silently dropped."""

    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_rejected_rows_batch", "batch_id", "row_number"),)
