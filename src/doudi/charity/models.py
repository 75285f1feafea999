"""Charity tables: the partner register, household consents, needs (救助需求) and the partners proposed for them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Timestamped, Versioned, one_of


class PartnerKind(StrEnum):
    """What a partner is: a charity, a social-work organisation, a company or a community group."""

    CHARITY = "charity"
    SOCIAL_WORK = "social_work"
    COMPANY = "company"
    COMMUNITY = "community"


class Offer(StrEnum):
    """What a partner offers and what a need asks for (one catalogue; also a consent's purpose)."""

    CASH = "cash"
    GOODS = "goods"
    SERVICES = "services"
    INSURANCE = "insurance"
    HOUSING_REPAIR = "housing_repair"
    TRAINING = "training"
    JOBS = "jobs"


class ConsentMethod(StrEnum):
    """How the household consented in writing: a signed form uploaded, or confirmed in the citizen portal."""

    FORM = "form"
    PORTAL = "portal"


class ConsentStatus(StrEnum):
    """A consent holds until withdrawn."""

    VALID = "valid"
    WITHDRAWN = "withdrawn"


class NeedSource(StrEnum):
    """Where a need was raised: a case, a monitoring warning, a discovery lead, a refusal, a remaining gap."""

    CASE = "case"
    WARNING = "warning"
    LEAD = "lead"
    REFUSAL = "refusal"
    GAP = "gap"


class NeedStatus(StrEnum):
    """open → proposed → matched → accepted → delivered → closed; declined, expired or escalated on the way."""

    OPEN = "open"
    PROPOSED = "proposed"
    MATCHED = "matched"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    CLOSED = "closed"
    DECLINED = "declined"
    EXPIRED = "expired"
    ESCALATED = "escalated"


class MatchStatus(StrEnum):
    """A proposal: proposed → confirmed (sent to the partner) → accepted → delivered; or declined, withdrawn,
    expired (no answer in time)."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Partner(Timestamped, Versioned, Base):
    """A social force (社会力量): what it offers, where, and how many needs of each kind it can take at once."""

    __tablename__ = "charity_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # the org key of its accounts
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # service area: this area's subtree
    offers: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # offer → needs taken at once
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (one_of("kind", PartnerKind),)


class Consent(Timestamped, Versioned, Base):
    """The household's written consent to share its need with partners for one purpose (PIPL 第二十九条)."""

    __tablename__ = "charity_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=ConsentStatus.VALID, index=True)
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    given_on: Mapped[date] = mapped_column(Date)
    file_path: Mapped[str] = mapped_column(String(255), default="")  # the signed form in file storage
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    filename: Mapped[str] = mapped_column(String(255), default="")
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (one_of("purpose", Offer), one_of("method", ConsentMethod), one_of("status", ConsentStatus))


class Need(Timestamped, Versioned, Base):
    """A need public assistance does not meet, passed to social forces (慈善衔接), with its deadline."""

    __tablename__ = "charity_needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    source: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[int | None] = mapped_column(Integer)  # the case, warning … it was raised from
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int | None] = mapped_column(Integer)  # money asked for, in fen
    size: Mapped[str] = mapped_column(String(64), default="")  # or what size of help (e.g. 一处住房改造)
    description: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date] = mapped_column(Date)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("charity_consents.id"))
    status: Mapped[str] = mapped_column(String(12), default=NeedStatus.OPEN, index=True)
    partner_key: Mapped[str | None] = mapped_column(String(32), index=True)  # the partner it was sent to
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_referrals.id"))
    result: Mapped[str] = mapped_column(Text, default="")
    delivered_fen: Mapped[int | None] = mapped_column(Integer)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    raised_on: Mapped[date] = mapped_column(Date)
    raised_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (one_of("status", NeedStatus), one_of("kind", Offer), one_of("source", NeedSource))


class Match(Timestamped, Versioned, Base):
    """A partner proposed for a need, then confirmed by the township, and the partner's answer and result."""

    __tablename__ = "charity_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Few indexes: a matching run writes a proposal per need at once (the unique key leads with need_id).
    need_id: Mapped[int] = mapped_column(ForeignKey("charity_needs.id"))
    partner_key: Mapped[str] = mapped_column(String(32), index=True)
    area_code: Mapped[str] = mapped_column(String(12))  # the need's
    kind: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default=MatchStatus.PROPOSED, index=True)
    proposed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)  # the partner's answer is due
    answered_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")  # why declined / withdrawn / expired

    __table_args__ = (UniqueConstraint("need_id", "partner_key", name="uq_charity_matches_need_partner"),
                      one_of("status", MatchStatus), one_of("kind", Offer))
