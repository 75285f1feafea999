"""Audit entries: an older hash chain (each entry carries its predecessor's hash), then entries signed one by one
and sealed in batches, each seal signing the entries it covers and chained to the seal before it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base


class AuditEntry(Base):
    """Who did what, when, from where, to which object, with before/after values of changed fields."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # position: gap-free in the linked chain, increasing after it
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
    prev_hash: Mapped[str] = mapped_column(String(64))  # "" after the linked chain: entries are sealed in batches
    hash: Mapped[str] = mapped_column(String(64))
    seal_id: Mapped[int | None] = mapped_column()  # the batch seal that covers it; None until sealed

    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        # The sealer's work list: only the entries not yet sealed (a few seconds' worth) are in it.
        Index("ix_audit_log_unsealed", "seq", postgresql_where=seal_id.is_(None), sqlite_where=seal_id.is_(None)),
    )


class AuditHead(Base):
    """The single row that ends the linked chain and heads the batch seals.

    Entries up to `sealed_seq` are a plain SHA-256 chain (written before the chain had a key); `seal_mac` signs
    that segment's last hash with the audit key. Entries `sealed_seq`+1..`seq` are an HMAC chain with the same
    key, each linked to its predecessor (appends were serialised on this row until migration 2600). Later entries
    are signed one by one without a lock and sealed in batches: `batch_seal_id` and `batch_seal_mac` name the
    newest seal. On SQLite, whose writers are serialised anyway, `issued_seq` numbers the new entries (PostgreSQL
    uses the sequence `audit_seq`)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_seq: Mapped[int | None] = mapped_column()
    seal_mac: Mapped[str | None] = mapped_column(String(64))
    issued_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    batch_seal_id: Mapped[int] = mapped_column(default=0)
    batch_seal_mac: Mapped[str | None] = mapped_column(String(64))


class AuditSeal(Base):
    """One signed batch of entries: their count, seq range and a digest of their seqs and signatures, chained to
    the previous seal by its signature, so deleting, moving or re-sealing an entry breaks it."""

    __tablename__ = "audit_seals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 1, 2, 3, … with no gap
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entries: Mapped[int] = mapped_column()
    first_seq: Mapped[int] = mapped_column()
    last_seq: Mapped[int] = mapped_column()
    digest: Mapped[str] = mapped_column(String(64))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
