"""A batch records where rows came from; rejected rows are quarantined with their row number and reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base


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
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    area_code: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("kind", "source_key", "file_sha256", name="uq_batch_content"),)


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
