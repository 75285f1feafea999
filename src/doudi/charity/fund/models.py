"""Charity fund tables: donations in, grants out, the append-only movement ledger, insurance policies,
their members and claims.

Amounts are integer fen. A balance is never stored by itself: it is the sum of the movements of one pool, and
each movement also carries the balance after it, numbered per pool, so two concurrent postings cannot both
compute their balance from the same previous one (the unique (county, pool, seq) refuses the second)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Timestamped, Versioned


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(v.value) for v in values)})"


class Purpose(StrEnum):
    """What money is given or granted for; `general` is the pool of money given without restriction."""

    GENERAL = "general"
    ONE_OFF_AID = "one_off_aid"
    INSURANCE = "insurance"
    ACCESSIBILITY = "accessibility"
    MEDICAL = "medical"
    EDUCATION = "education"


class GrantStatus(StrEnum):
    """A grant is made by one person and approved (or rejected) by another."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MovementKind(StrEnum):
    """A posting to a pool: money in from a donation, out for a grant."""

    DONATION = "donation"
    GRANT = "grant"


class PolicyStatus(StrEnum):
    """A group policy: drafted, members listed, premium granted from the fund, then closed at its end."""

    DRAFT = "draft"
    PAID = "paid"
    CLOSED = "closed"


class ClaimStatus(StrEnum):
    """A claim on a group policy as the insurer answers it."""

    FILED = "filed"
    PAID = "paid"
    REFUSED = "refused"


class Donation(Base):
    """Money given to the fund, with the receipt issued (one record per receipt number)."""

    __tablename__ = "charity_fund_donations"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the county whose fund received it
    receipt_no: Mapped[str] = mapped_column(String(40))
    donor_name: Mapped[str] = mapped_column(String(100))
    donor_kind: Mapped[str] = mapped_column(String(12), default="person")  # person | company | anonymous
    donor_contact: Mapped[str] = mapped_column(String(40), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # 定向: only for its purpose
    restrictions: Mapped[str] = mapped_column(String(300), default="")
    received_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("receipt_no", name="uq_charity_fund_donations_receipt"),
        CheckConstraint(_in("purpose", Purpose), name="purpose"),
        CheckConstraint("donor_kind in ('person', 'company', 'anonymous')", name="donor_kind"),
        CheckConstraint("amount_fen > 0", name="amount"),
    )


class Grant(Timestamped, Versioned, Base):
    """Money granted from one pool of the fund for a need, a case or a household (or a policy's premium)."""

    __tablename__ = "charity_fund_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the household's area (the county for a premium)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("charity_needs.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(Integer)  # a group policy's premium
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16))
    pool: Mapped[str] = mapped_column(String(16))  # the purpose's restricted money, or general
    reason: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(12), default=GrantStatus.PENDING, index=True)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_by_name: Mapped[str] = mapped_column(String(64), default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        CheckConstraint(_in("status", GrantStatus), name="status"),
        CheckConstraint(_in("purpose", Purpose), name="purpose"),
        CheckConstraint("pool = purpose or pool = 'general'", name="pool"),  # restricted money to its purpose only
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("case_id is not null or household_id is not null or policy_id is not null", name="target"),
        # A policy's premium is granted once: a second proposal is refused unless the first was rejected.
        Index("uq_charity_fund_grants_policy", "policy_id", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )


class Movement(Base):
    """One posting to a pool of a county's fund (append-only), with the pool's balance after it."""

    __tablename__ = "charity_fund_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the county
    pool: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column()  # 1, 2, … per county and pool
    kind: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(16))  # what the money was given or granted for
    delta_fen: Mapped[int] = mapped_column(BigInteger)  # + in, − out
    balance_fen: Mapped[int] = mapped_column(BigInteger)  # the pool's balance after this posting
    month: Mapped[date] = mapped_column(Date, index=True)  # first day of the month it belongs to
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("charity_fund_donations.id"), unique=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("charity_fund_grants.id"), unique=True)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("area_code", "pool", "seq", name="uq_charity_fund_movements_seq"),
        CheckConstraint(_in("kind", MovementKind), name="kind"),
        CheckConstraint(_in("pool", Purpose), name="pool"),
        CheckConstraint("balance_fen >= 0", name="balance"),
        CheckConstraint("(kind = 'donation' and delta_fen > 0 and donation_id is not null) or "
                        "(kind = 'grant' and delta_fen < 0 and grant_id is not null)", name="sign"),
    )


class Policy(Timestamped, Versioned, Base):
    """A group supplementary-insurance policy for recipients, its premium paid by the fund."""

    __tablename__ = "charity_insurance_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the county
    policy_no: Mapped[str] = mapped_column(String(40), unique=True)
    insurer: Mapped[str] = mapped_column(String(100))
    coverage: Mapped[str] = mapped_column(String(300), default="")
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    premium_fen: Mapped[int] = mapped_column(BigInteger)  # per insured person for the period
    member_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default=PolicyStatus.DRAFT, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        CheckConstraint(_in("status", PolicyStatus), name="status"),
        CheckConstraint("premium_fen > 0 and end_on > start_on", name="terms"),
    )


class Insured(Base):
    """One person insured under a group policy, through the enrollment that made them eligible."""

    __tablename__ = "charity_insurance_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("charity_insurance_policies.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(Integer)
    program: Mapped[str] = mapped_column(String(32))
    area_code: Mapped[str] = mapped_column(String(12), index=True)

    __table_args__ = (UniqueConstraint("policy_id", "person_id", name="uq_charity_insurance_members_once"),)


class Claim(Timestamped, Versioned, Base):
    """A claim under a group policy for one insured person, and the insurer's answer."""

    __tablename__ = "charity_insurance_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("charity_insurance_policies.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("charity_insurance_members.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    claim_no: Mapped[str] = mapped_column(String(40), unique=True)
    incident_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(40))
    claimed_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default=ClaimStatus.FILED)
    note: Mapped[str] = mapped_column(String(300), default="")
    recorded_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        CheckConstraint(_in("status", ClaimStatus), name="status"),
        CheckConstraint("claimed_fen > 0 and paid_fen >= 0 and paid_fen <= claimed_fen", name="amounts"),
    )
