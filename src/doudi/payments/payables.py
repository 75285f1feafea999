"""Provider payables: home-care settlements (verified hours × the contract price) paid to their providers through
the same rolls, bank files and reconciliation as assistance. Pure line building on frames plus the reads it needs;
nothing here commits.

A provider roll (program `care_provider`) of a pay month collects the confirmed settlements of the months before
it that no line pays yet. Each line names its settlement (`payment_lines.settlement_id`, unique: a settlement is
paid once), and its key (provider, program, provider_payable, settled month) is the roll's usual once-only key."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area_or_above
from doudi.care.models import CareProvider, CareSettlement, SettlementStatus
from doudi.care.settlement import provider_payables
from doudi.core.dates import month_start
from doudi.db.frames import read_frame, read_frame_in
from doudi.payments import rules
from doudi.payments.models import BankFile, Component, PaymentLine, PaymentRoll

PROGRAM = "care_provider"
LABEL = "居家照护服务费"


def payee_key(provider_id: int) -> str:
    """The payee key of a provider (O for organisation), as its account is recorded."""
    return f"O{provider_id}"


def settled_months(month: date, back_months: int) -> list[date]:
    """The months whose settlements a roll of `month` may pay: the month before it and `back_months` before that
    (a month is settled only once it has ended)."""
    return rules.months_back(month, back_months + 1)[:-1]


def payable_frame(session: Session, *, county: str, month: date, back_months: int) -> pl.DataFrame:
    """Confirmed settlements of the county's providers for the months a roll of `month` pays, not yet on a line."""
    parts = [provider_payables(session, month=m, area=county) for m in settled_months(month, back_months)]
    frame = pl.concat([p for p in parts if p.height], how="vertical_relaxed") if any(p.height for p in parts) \
        else pl.DataFrame()
    if frame.is_empty():
        return frame
    paid = read_frame_in(session, select(PaymentLine.settlement_id), PaymentLine.__table__.c.settlement_id,
                         frame["settlement_id"].to_list())
    if paid.height:
        frame = frame.join(paid, on="settlement_id", how="anti")
    provider_ids = read_frame_in(session, select(CareProvider.id.label("provider_id"),
                                                 CareProvider.key.label("provider_key")),
                                 CareProvider.__table__.c.key, frame["provider_key"].unique().to_list())
    return frame.join(provider_ids, on="provider_key", how="left")


def build_provider_lines(*, payables: pl.DataFrame, minutes: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """A provider roll's lines (pure): one per settlement with an amount, paid to the provider's confirmed
    account, explained by the settlement's verified minutes and hourly price.

    payables: settlement_id, provider_id, provider_name, area_code, month, amount_fen;
    minutes: settlement_id, paid_minutes, hourly_rate; accounts: payee_key, bank_name, account_no."""
    if payables.is_empty():
        return pl.DataFrame()
    lines = payables.filter(pl.col("amount_fen") > 0).join(minutes, on="settlement_id", how="left").with_columns(
        payee_key=pl.format("O{}", pl.col("provider_id")))
    if accounts.is_empty():
        lines = lines.with_columns(bank_name=pl.lit(""), account_no=pl.lit(""))
    else:
        lines = lines.join(accounts.select("payee_key", "bank_name", "account_no"), on="payee_key",
                           how="left").with_columns(pl.col("bank_name").fill_null(""),
                                                    pl.col("account_no").fill_null(""))
    fen = pl.col("amount_fen")
    amount = pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2))
    rule = pl.format("居家照护结算单 #{}，{} 月：核实服务 {} 分钟 × {} 元/小时 = {} 元（仅计核实的上门服务）",
                     pl.col("settlement_id"), pl.col("month").dt.strftime("%Y-%m"), pl.col("paid_minutes"),
                     pl.col("hourly_rate").cast(pl.String), amount)
    return lines.select(
        "payee_key", pl.lit(PROGRAM).alias("program"), pl.lit(Component.PROVIDER_PAYABLE.value).alias("component"),
        pl.lit(Component.PROVIDER_PAYABLE.value).alias("covers"), pl.col("month").alias("entitlement_month"),
        "amount_fen", "area_code", pl.lit(None, pl.Int64).alias("household_id"),
        pl.lit(None, pl.Int64).alias("person_id"), pl.lit(None, pl.Int64).alias("enrollment_id"),
        pl.col("provider_name").str.slice(0, 64).alias("payee_name"), pl.lit("").alias("id_number"),
        "bank_name", "account_no", rule.alias("rule"), pl.col("settlement_id").cast(pl.Int64),
    ).sort("payee_key", "entitlement_month")


def settlement_minutes(session: Session, *, ids: list[int]) -> pl.DataFrame:
    """Verified minutes and the hourly price of settlements (for the lines' explanation)."""
    return read_frame_in(session, select(CareSettlement.id.label("settlement_id"), CareSettlement.paid_minutes,
                                         CareSettlement.hourly_rate), CareSettlement.__table__.c.id, ids)



def settlement_payments(session: Session, *, actor: Actor, month: date | None = None) -> pl.DataFrame:
    """Confirmed home-care settlements the actor may see, each with the line, roll and bank file that pay it
    (nulls while no roll has taken it), newest month first.

    The bank file is the one of the line's roll whose line-id range holds the line: a roll's files carry its
    payable lines in id order, split at the cap, so the ranges never overlap."""
    actor.require("payment.read")
    stmt = (select(CareSettlement.id.label("settlement_id"), CareProvider.name.label("provider_name"),
                   CareSettlement.month, CareSettlement.amount_fen, PaymentLine.id.label("line_id"),
                   PaymentLine.status.label("line_status"), PaymentLine.reason, PaymentLine.attempt,
                   PaymentRoll.id.label("roll_id"), PaymentRoll.month.label("roll_month"),
                   PaymentRoll.status.label("roll_status"), BankFile.id.label("file_id"),
                   BankFile.seq.label("file_seq"), BankFile.msg_id.label("file_msg_id"),
                   BankFile.format.label("file_format"))
            .join(CareProvider, CareProvider.id == CareSettlement.provider_id)
            .outerjoin(PaymentLine, PaymentLine.settlement_id == CareSettlement.id)
            .outerjoin(PaymentRoll, PaymentRoll.id == PaymentLine.roll_id)
            .outerjoin(BankFile, and_(BankFile.roll_id == PaymentLine.roll_id, BankFile.first_line_id <= PaymentLine.id,
                                      BankFile.last_line_id >= PaymentLine.id))
            .where(CareSettlement.status == SettlementStatus.CONFIRMED))
    stmt = in_area_or_above(stmt, CareSettlement.area_code, actor)
    if month is not None:
        stmt = stmt.where(CareSettlement.month == month_start(month))
    return read_frame(session, stmt.order_by(CareSettlement.month.desc(), CareProvider.name, CareSettlement.id))
