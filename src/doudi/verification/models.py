"""Verification tables: feed record links, linkage reviews, authorisations, requests and their per-source status.

Feed rows live in one narrow table: per row only what queries filter on and what linking changes (batch,
row, normalised ID number, period, linked person, match method, probability). The typed row itself is
in the batch's columnar payload files (see payload.py), so a 10M-row feed costs one columnar write
rather than a JSON document per row. One table serves every source, so linking and tracking work the same
way everywhere, and a new agency source needs no migration.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Versioned, one_of
from doudi.db.types import BigId, JSONText


class MatchMethod(StrEnum):
    """How a feed row was linked to a registry person (or why it is not)."""

    ID = "id"
    PROBABILISTIC = "probabilistic"
    CLERICAL = "clerical"
    REVIEW = "review"
    PENDING = "pending"
    NONE = "none"


class ReviewStatus(StrEnum):
    """A clerical review of a probable link."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewKind(StrEnum):
    """Why a pair is in the clerical review queue."""

    MATCH = "match"  # a probable match between the review and auto-accept thresholds
    DOUBLE_REGISTRATION = "double_registration"  # two valid ID numbers, same name, sex and birth date


class RequestStatus(StrEnum):
    """A verification request: open until every source has answered."""

    OPEN = "open"
    COMPLETE = "complete"


class SourceStatus(StrEnum):
    """One source's answer to a request."""

    PENDING = "pending"
    ANSWERED = "answered"
    NO_RECORD = "no_record"
    ERROR = "error"


class FeedRecord(Base):
    """One accepted row of an agency feed, with the person it was linked to and how."""

    __tablename__ = "feed_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys here on purpose: the batch row is written in the same transaction, and a per-row
    # constraint check would halve bulk-load speed (10M-row feeds); integrity is kept by the loader.
    batch_id: Mapped[int] = mapped_column(Integer)
    row_number: Mapped[int] = mapped_column(Integer)  # 1 = the first data row after the header
    id_number: Mapped[str | None] = mapped_column(String(18))  # normalised; null when missing or invalid
    period: Mapped[date | None] = mapped_column(Date)  # the month, or the date the row is about
    person_id: Mapped[int | None] = mapped_column(Integer)
    match_method: Mapped[str] = mapped_column(String(16))  # MatchMethod
    probability: Mapped[float | None] = mapped_column(Float)
    # The typed row as JSON for batches stored before payload files (read by payload.read); '{}' since.
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)

    __table_args__ = (
        Index("ix_feed_records_batch_row", "batch_id", "row_number"),
        # Only registry persons are ever linked, a small share of a county's feed rows: a partial index
        # keeps lookups by person fast without paying for an index entry on every row at load time.
        Index("ix_feed_records_person", "person_id", postgresql_where=text("person_id IS NOT NULL"),
              sqlite_where=text("person_id IS NOT NULL")),
        one_of("match_method", MatchMethod),
    )


class LinkReview(Versioned, Base):
    """A feed identity whose best registry candidate scored between the review and auto-accept thresholds."""

    __tablename__ = "link_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(32))
    row_numbers: Mapped[list[int]] = mapped_column(JSONText)  # the feed rows that carry this identity
    record: Mapped[dict[str, Any]] = mapped_column(JSONText)  # name, id_number as given, birth date, sex, address
    candidate_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the candidate's household area (scoping)
    probability: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.PENDING.value)  # ReviewStatus
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(24), default=ReviewKind.MATCH.value)  # ReviewKind
    id_kind: Mapped[str] = mapped_column(String(40), default="")  # the ID comparison's level (model.py labels)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)  # comparison → level label

    __table_args__ = (one_of("status", ReviewStatus), one_of("kind", ReviewKind))


class LinkageModel(Base):
    """A trained person-linkage model of one source, stored with its version so later runs reuse it.

    `model_version` fingerprints the comparisons (engine.model_version): a model of another version is not
    used. A source trains afresh when it has no model, or when reviewers have decided pairs since.
    """

    __tablename__ = "linkage_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per source
    model_version: Mapped[str] = mapped_column(String(32))
    records: Mapped[int] = mapped_column(Integer)  # records on the smaller side when trained
    labels: Mapped[int] = mapped_column(Integer, default=0)  # reviewer-confirmed pairs used in training
    settings: Mapped[dict[str, Any]] = mapped_column(JSONText)  # Splink settings with m and u
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("source_key", "version", name="uq_linkage_models_source_version"),)


class Authorisation(Base):
    """A member's signed consent (授权书) to query their records held by other agencies."""

    __tablename__ = "verification_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    signed_by_name: Mapped[str] = mapped_column(String(64))  # the member, or a guardian / agent for them
    signed_by_relation: Mapped[str] = mapped_column(String(16), default="self")  # self | guardian | agent
    signed_on: Mapped[date] = mapped_column(Date)
    scope: Mapped[list[str]] = mapped_column(JSONText)  # source keys, or ["all"]
    document_ref: Mapped[str] = mapped_column(String(64))  # scanned form / e-signature reference
    valid_until: Mapped[date | None] = mapped_column(Date)
    application_ref: Mapped[str | None] = mapped_column(String(64))  # the case that collected it
    revoked_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VerificationRequest(Versioned, Base):
    """A township's request (提请) to verify one household against every agency source."""

    __tablename__ = "verification_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    requested_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # the county must start verification by then (Art. 17)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[date] = mapped_column(Date)  # income months checked
    period_end: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(16), default="application")  # application | review | recheck
    case_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=RequestStatus.OPEN.value)  # RequestStatus
    calendar_note: Mapped[str] = mapped_column(String(200), default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (one_of("status", RequestStatus),)


class RequestSource(Base):
    """Tracking (即时追踪) of one source for one request."""

    __tablename__ = "verification_request_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("verification_requests.id", ondelete="CASCADE"), index=True)
    source_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default=SourceStatus.PENDING.value)  # SourceStatus
    records: Mapped[int] = mapped_column(default=0)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_batches.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("request_id", "source_key", name="uq_request_source"),
                      one_of("status", SourceStatus))
