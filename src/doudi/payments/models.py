"""Payment tables: accounts, rolls and their lines, bank files, bank returns, CPI figures and the reserve ledger.

Amounts are integer fen (分) everywhere: a roll's total is an exact sum and never meets a float.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base, Timestamped, Versioned
from doudi.db.types import BigId


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(v.value) for v in values)})"


class RollStatus(StrEnum):
    """A roll's life: drafted from enrollments, approved by a second person, sent to the bank, reconciled."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    RECONCILED = "reconciled"


class Component(StrEnum):
    """What a line pays."""

    BASIC = "basic"
    CARE = "care"
    BACK_PAY = "back_pay"
    SUBSIDY = "subsidy"
    PROVIDER_PAYABLE = "provider_payable"
    ONE_OFF = "one_off"


class LineStatus(StrEnum):
    """A line's outcome at the bank."""

    PENDING = "pending"  # on a roll, not yet answered by the bank
    PAID = "paid"
    REJECTED = "rejected"  # refused by the bank (closed account, name mismatch…): to be re-issued
    RETURNED = "returned"  # paid, then returned or reversed: to be re-issued
    NO_ACCOUNT = "no_account"  # no confirmed account when the roll was frozen: held, re-issued once one exists


class ReturnOutcome(StrEnum):
    """How one row of a bank return was classified."""

    PAID = "paid"
    REJECTED = "rejected"
    RETURNED = "returned"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


class AccountStatus(StrEnum):
    """An account change needs a second person's confirmation."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REPLACED = "replaced"


class LedgerKind(StrEnum):
    """Entries of a township's temporary-aid reserve fund (备用金)."""

    ALLOT = "allot"
    SPEND = "spend"
    REPLENISH = "replenish"


class PayeeAccount(Timestamped, Versioned, Base):
    """A payee's bank account (开户行, 账号); a change is pending until a second person confirms it."""

    __tablename__ = "payee_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    payee_key: Mapped[str] = mapped_column(String(24), index=True)  # P<person id> or H<household id>
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    holder_name: Mapped[str] = mapped_column(String(64))
    bank_name: Mapped[str] = mapped_column(String(80))
    account_no: Mapped[str] = mapped_column(String(34))
    social_security_card: Mapped[bool] = mapped_column(default=False)  # 社保卡 (一卡通), preferred where given
    status: Mapped[str] = mapped_column(String(12), default=AccountStatus.PENDING)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_in("status", AccountStatus), name="status"),
        # One confirmed account per payee: a confirmed change replaces the old one in the same transaction.
        Index("uq_payee_accounts_confirmed", "payee_key", unique=True,
              sqlite_where=text("status = 'confirmed'"), postgresql_where=text("status = 'confirmed'")),
    )


class PaymentRoll(Versioned, Base):
    """One roll (发放花名册) per county, month and program, frozen when generated."""

    __tablename__ = "payment_rolls"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)  # the county
    month: Mapped[date] = mapped_column(Date, index=True)  # first day of the month paid
    program: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default=RollStatus.DRAFT, index=True)
    line_count: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    pack_version: Mapped[str] = mapped_column(String(40), default="")
    prepared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    prepared_by_name: Mapped[str] = mapped_column(String(64), default="")
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_name: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("area_code", "month", "program", name="uq_payment_rolls_key"),
        CheckConstraint(_in("status", RollStatus), name="status"),
        CheckConstraint("total_fen >= 0 and line_count >= 0", name="totals"),
    )


class PaymentLine(Base):
    """One payment: payee, program, what it covers and for which month, with the account frozen on the roll.

    The database allows one line per (payee, program, covered component, entitlement month): a back-pay line
    covers the basic amount of an earlier month, so it shares that month's key and can never be paid beside
    it. A re-issue moves the line to a later roll instead of adding one."""

    __tablename__ = "payment_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # References payment_rolls.id (ON DELETE CASCADE) through triggers, not a foreign key: PostgreSQL checks a
    # foreign key once per row, the trigger once per statement (migration 2200).
    roll_id: Mapped[int] = mapped_column(index=True)
    payee_key: Mapped[str] = mapped_column(String(24))
    program: Mapped[str] = mapped_column(String(32))
    component: Mapped[str] = mapped_column(String(20))
    covers: Mapped[str] = mapped_column(String(20))  # the component this line pays for (back_pay covers basic)
    entitlement_month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Indexes are what a million-line COPY pays for on every row: only those a read uses (the roll, the household
    # panel and chain, the bank reference, the once-only key) are kept.
    area_code: Mapped[str] = mapped_column(String(12))
    household_id: Mapped[int | None] = mapped_column(index=True)
    person_id: Mapped[int | None] = mapped_column()
    enrollment_id: Mapped[int | None] = mapped_column()
    payee_name: Mapped[str] = mapped_column(String(64), default="")
    id_number: Mapped[str] = mapped_column(String(18), default="")
    bank_name: Mapped[str] = mapped_column(String(80), default="")
    account_no: Mapped[str] = mapped_column(String(34), default="")
    rule: Mapped[str] = mapped_column(Text, default="")  # why this amount, in Chinese
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)  # the bank's reference for this line
    # Not indexed, and pages kept half free on PostgreSQL: reconciling a million lines then rewrites each row in
    # place (a heap-only update), touching none of the table's indexes.
    status: Mapped[str] = mapped_column(String(12), default=LineStatus.PENDING)
    attempt: Mapped[int] = mapped_column(default=1)
    reason: Mapped[str] = mapped_column(String(200), default="")  # the bank's reason, in Chinese
    # A provider payable's home-care settlement (care_settlements.id): a settlement is paid by one line at most.
    settlement_id: Mapped[int | None] = mapped_column()

    __table_args__ = (
        # Program and month first: a roll's lines land together at the end of the index, and the months already
        # paid are read from it by range.
        UniqueConstraint("program", "entitlement_month", "covers", "payee_key", name="uq_payment_lines_once"),
        # Partial: the assistance lines (no settlement) stay out of it.
        Index("uq_payment_lines_settlement_id", "settlement_id", unique=True,
              sqlite_where=text("settlement_id IS NOT NULL"), postgresql_where=text("settlement_id IS NOT NULL")),
        CheckConstraint(_in("component", Component), name="component"),
        CheckConstraint(_in("covers", Component), name="covers"),
        CheckConstraint(_in("status", LineStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount"),
        {"postgresql_with": {"fillfactor": 50}},
    )


class SubsidyShare(Base):
    """One person counted in a price-subsidy line. A person belongs to several recipient groups at once (a 特困
    person in a 低保 household, a household on 低保 and 低保边缘 lists): the unique (person, month) makes the
    database refuse a second subsidy for the same person and month, whichever group or payee it comes through."""

    __tablename__ = "payment_subsidy_shares"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payment_lines.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column()
    month: Mapped[date] = mapped_column(Date)
    via_program: Mapped[str] = mapped_column(String(32))  # the recipient group (program) the person was counted in

    __table_args__ = (UniqueConstraint("person_id", "month", name="uq_payment_subsidy_shares_once"),)


class BankFile(Base):
    """A file written for the bank from an approved roll, with its control totals."""

    __tablename__ = "payment_bank_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("payment_rolls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    format: Mapped[str] = mapped_column(String(12))  # pain001 | domestic
    # A file carries the roll's payable lines in id order, so it holds exactly the lines of the roll in this range.
    first_line_id: Mapped[int | None] = mapped_column(BigInteger)
    last_line_id: Mapped[int | None] = mapped_column(BigInteger)
    msg_id: Mapped[str] = mapped_column(String(35), unique=True)
    tx_count: Mapped[int] = mapped_column()
    total_fen: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("format in ('pain001','domestic')", name="format"),)


class BankReturn(Base):
    """One imported bank return file and its counts."""

    __tablename__ = "payment_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the same file twice is refused
    filename: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(12))  # pain002 | camt053 | csv
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    rows: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[int] = mapped_column(default=0)
    duplicate: Mapped[int] = mapped_column(default=0)
    invalid: Mapped[int] = mapped_column(default=0)
    imported_by: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BankReturnRow(Base):
    """One row of a bank return, classified; rows that match nothing or do not parse stay here (quarantine)."""

    __tablename__ = "payment_return_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # References payment_returns.id (ON DELETE CASCADE) through triggers, as PaymentLine.roll_id does.
    return_id: Mapped[int] = mapped_column(index=True)
    row_no: Mapped[int] = mapped_column()
    end_to_end_id: Mapped[str] = mapped_column(String(64), default="")
    line_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(16), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint(_in("outcome", ReturnOutcome), name="outcome"),)


class CpiFigure(Base):
    """A published monthly price index (year-on-year change, %) for a region."""

    __tablename__ = "payment_cpi"

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(12))
    month: Mapped[date] = mapped_column(Date)  # the month the figures describe
    published_on: Mapped[date] = mapped_column(Date)
    cpi_yoy: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    food_cpi_yoy: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))

    __table_args__ = (UniqueConstraint("region", "month", name="uq_payment_cpi_key"),)


class ReserveEntry(Base):
    """One entry of a township's temporary-aid reserve fund ledger (备用金), linked to its case."""

    __tablename__ = "payment_reserve_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    seq: Mapped[int] = mapped_column()  # 1, 2, … per township: two concurrent entries cannot both be next
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_fen: Mapped[int] = mapped_column(BigInteger)  # after this entry
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)  # one spend per case
    note: Mapped[str] = mapped_column(String(200), default="")
    county_approved_by: Mapped[str] = mapped_column(String(64), default="")  # spending beyond the balance
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("township_code", "seq", name="uq_payment_reserve_entries_seq"),
        CheckConstraint(_in("kind", LedgerKind), name="kind"),
        CheckConstraint("amount_fen > 0", name="amount"),
    )
