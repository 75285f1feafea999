"""Audit entries form a hash chain: each carries the hash of the one before it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base


class AuditEntry(Base):
    """Who did what, when, from where, to which object, with before/after values of changed fields."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # gap-free position in the chain
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    area_code: Mapped[str | None] = mapped_column(String(12), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied | failed
    changes: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)


class AuditHead(Base):
    """A single row whose update serialises appends, so concurrent writers cannot fork the chain.

    Entries up to `sealed_seq` are a plain SHA-256 chain (written before the chain had a key); `seal_mac` signs
    that segment's last hash with the audit key, and every later entry's hash is an HMAC with the same key."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_seq: Mapped[int | None] = mapped_column()
    seal_mac: Mapped[str | None] = mapped_column(String(64))
