"""Funds report: per program, township and month, the recipients paid, the amounts, and the changes from the
previous month (new, stopped, changed) with their reasons; pure frame rules plus the scoped reads they need.

A month is the entitlement month of the lines: back pay for February counts in February, wherever it was paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.cases.models import Enrollment, EnrollmentChange
from doudi.core.dates import month_start
from doudi.db.frames import read_frame
from doudi.payments import rules
from doudi.payments.models import PaymentLine

TOWNSHIP_DIGITS = 9  # GB/T 2260 county (6) + township (3)
CHANGE_LABELS = {"increase": "增发", "decrease": "减发", "level": "护理等级调整", "gradual_exit": "渐退",
                 "terminate": "停发", "review": "复核"}
COLUMNS = ["program", "township", "recipients", "amount_fen", "new", "stopped", "changed", "prev_recipients",
           "prev_amount_fen"]


@dataclass(frozen=True)
class FundsReport:
    """The report's rows (one per program and township), the reasons of the month's changes, the names."""

    month: date
    rows: pl.DataFrame
    reasons: pl.DataFrame  # program, township, reason (Chinese), n
    names: dict[str, str]


def _prev(month: date) -> date:
    return rules.months_back(month, 1)[0]


def funds_changes(lines: pl.DataFrame, month: date) -> pl.DataFrame:
    """Per program and township (pure): recipients and amount of `month`, and against the month before it the
    payees new this month, stopped (paid the month before, not this one) and changed (a different amount).

    lines: program, area_code, payee_key, entitlement_month, amount_fen (every line of both months)."""
    if lines.is_empty():
        return pl.DataFrame(schema={c: pl.String if c in ("program", "township") else pl.Int64 for c in COLUMNS})
    prev = _prev(month)
    per = (lines.with_columns(township=pl.col("area_code").str.slice(0, TOWNSHIP_DIGITS))
           .group_by("program", "township", "payee_key", "entitlement_month").agg(pl.col("amount_fen").sum()))
    cur = per.filter(pl.col("entitlement_month") == month).drop("entitlement_month")
    old = per.filter(pl.col("entitlement_month") == prev).drop("entitlement_month").rename({"amount_fen": "prev_fen"})
    both = cur.join(old, on=["program", "township", "payee_key"], how="full", coalesce=True)
    return both.group_by("program", "township").agg(
        recipients=pl.col("amount_fen").is_not_null().sum().cast(pl.Int64),
        amount_fen=pl.col("amount_fen").sum().fill_null(0).cast(pl.Int64),
        new=(pl.col("amount_fen").is_not_null() & pl.col("prev_fen").is_null()).sum().cast(pl.Int64),
        stopped=(pl.col("amount_fen").is_null() & pl.col("prev_fen").is_not_null()).sum().cast(pl.Int64),
        changed=(pl.col("amount_fen").is_not_null() & pl.col("prev_fen").is_not_null()
                 & (pl.col("amount_fen") != pl.col("prev_fen"))).sum().cast(pl.Int64),
        prev_recipients=pl.col("prev_fen").is_not_null().sum().cast(pl.Int64),
        prev_amount_fen=pl.col("prev_fen").sum().fill_null(0).cast(pl.Int64),
    ).sort("program", "township").select(COLUMNS)


def change_reasons(changes: pl.DataFrame) -> pl.DataFrame:
    """The month's effective enrollment changes counted per program, township and kind, in Chinese (pure).

    changes: program, area_code, kind."""
    if changes.is_empty():
        return pl.DataFrame(schema={"program": pl.String, "township": pl.String, "reason": pl.String, "n": pl.Int64})
    return (changes.with_columns(township=pl.col("area_code").str.slice(0, TOWNSHIP_DIGITS),
                                 reason=pl.col("kind").replace_strict(CHANGE_LABELS, default=pl.col("kind")))
            .group_by("program", "township", "reason").agg(n=pl.len().cast(pl.Int64))
            .sort("program", "township", "reason"))


def funds_report(session: Session, *, actor: Actor, month: date, program: str = "") -> FundsReport:
    """The report of a month in the actor's area (a township sees its own lines on the county's rolls)."""
    actor.require("payment.read")
    month = month_start(month)
    stmt = select(PaymentLine.program, PaymentLine.area_code, PaymentLine.payee_key, PaymentLine.entitlement_month,
                  PaymentLine.amount_fen).where(area_clause(PaymentLine.area_code, actor),
                                                PaymentLine.entitlement_month.in_([_prev(month), month]))
    ch = select(Enrollment.program, Enrollment.area_code, EnrollmentChange.kind).join(
        Enrollment, Enrollment.id == EnrollmentChange.enrollment_id).where(
        area_clause(Enrollment.area_code, actor), EnrollmentChange.effective_month == month,
        EnrollmentChange.status == "effective")
    if program:
        stmt = stmt.where(PaymentLine.program == program)
        ch = ch.where(Enrollment.program == program)
    rows = funds_changes(read_frame(session, stmt), month)
    reasons = change_reasons(read_frame(session, ch))
    names = areas.names(session, codes=sorted(set(rows["township"]) | set(reasons["township"])))
    return FundsReport(month, rows, reasons, names)


def reason_text(report: FundsReport, program: str, township: str) -> str:
    """The reasons of one row, e.g. '减发 2；停发 1'."""
    part = report.reasons.filter((pl.col("program") == program) & (pl.col("township") == township))
    return "；".join(f"{r} {n}" for r, n in part.select("reason", "n").iter_rows())


def chart_option(report: FundsReport, labels: dict[str, str]) -> dict[str, Any]:
    """An ECharts option: the month's amount (yuan) per township, one stacked series per program."""
    towns = sorted(set(report.rows["township"]))
    series = []
    for program in sorted(set(report.rows["program"])):
        part = report.rows.filter(pl.col("program") == program)
        by = dict(zip(part["township"], part["amount_fen"], strict=True))
        series.append({"name": labels.get(program, program), "type": "bar", "stack": "yuan",
                       "data": [round(int(by.get(t, 0)) / 100, 2) for t in towns]})
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True, "left": 8, "right": 16},
            "xAxis": {"type": "category", "data": [report.names.get(t, t) for t in towns]},
            "yAxis": {"type": "value", "name": "元"}, "series": series}
