"""The public transparency report (慈善信息公开, 慈善法 第七十一条、第七十二条): money in and out of a county's fund
by purpose and month, from the movement ledger alone — no donor, household or person appears in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.charity.fund.labels import PURPOSE_LABELS, yuan
from doudi.charity.fund.models import Movement, MovementKind
from doudi.core import excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.frames import read_frame

COLUMNS = ["month", "purpose", "donations", "in_fen", "grants", "out_fen"]


@dataclass(frozen=True)
class Report:
    """Rows by month and purpose, and the totals by purpose, of one county's fund for one year."""

    county: str
    year: int
    rows: pl.DataFrame  # month, purpose, donations, in_fen, grants, out_fen
    by_purpose: pl.DataFrame  # purpose, in_fen, out_fen, balance_fen (balance at the year's end)


def _county(county: str) -> str:
    code = county.strip()
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed([FieldError("area", "请填写 6 位县级区划代码")])
    return code


def monthly(moves: pl.DataFrame) -> pl.DataFrame:
    """Movements (month, purpose, kind, delta_fen) summed by month and purpose (pure)."""
    donation = pl.col("kind") == MovementKind.DONATION.value
    return (moves.group_by("month", "purpose")
            .agg(donations=donation.sum().cast(pl.Int64),
                 in_fen=pl.when(donation).then(pl.col("delta_fen")).otherwise(0).sum().cast(pl.Int64),
                 grants=(~donation).sum().cast(pl.Int64),
                 out_fen=pl.when(donation).then(0).otherwise(-pl.col("delta_fen")).sum().cast(pl.Int64))
            .sort("month", "purpose").select(COLUMNS))


def transparency(session: Session, *, county: str, year: int) -> Report:
    """The county fund's report for a year (public: needs no login and shows no personal data)."""
    county = _county(county)
    moves = read_frame(session, select(Movement.month, Movement.purpose, Movement.kind, Movement.delta_fen,
                                       Movement.pool).where(Movement.area_code == county,
                                                            Movement.month < date(year + 1, 1, 1)))
    this_year = moves.filter(pl.col("month") >= date(year, 1, 1))
    rows = monthly(this_year)
    balance = moves.group_by("pool").agg(balance_fen=pl.col("delta_fen").sum().cast(pl.Int64)).rename(
        {"pool": "purpose"})
    totals = rows.group_by("purpose").agg(pl.col("in_fen").sum(), pl.col("out_fen").sum())
    by_purpose = (totals.join(balance, on="purpose", how="full", coalesce=True)
                  .with_columns(pl.col("in_fen", "out_fen", "balance_fen").fill_null(0)).sort("purpose"))
    return Report(county, year, rows, by_purpose)


def to_xlsx(r: Report) -> bytes:
    """The report as Excel through the shared writer: the months sheet and the purposes sheet."""
    label = PURPOSE_LABELS.get
    months = excel.Sheet("按月", [excel.Col("月份", 10), excel.Col("用途", 16), excel.Col("捐赠笔数", 10),
                                  excel.Col("收入(元)", 14, number_format="0.00"), excel.Col("拨付笔数", 10),
                                  excel.Col("支出(元)", 14, number_format="0.00")],
                         ([f"{m:%Y-%m}", label(p, p), d, i / 100, g, o / 100]
                          for m, p, d, i, g, o in r.rows.iter_rows()),
                         caption=f"{r.county} 慈善救助基金 {r.year} 年收支公开（按月、按用途）")
    purposes = excel.Sheet("按用途", [excel.Col("用途（资金）", 16),
                                     excel.Col("年度收入(元)", 14, number_format="0.00"),
                                     excel.Col("年度支出(元)", 14, number_format="0.00"),
                                     excel.Col("年末余额(元)", 14, number_format="0.00")],
                           ([label(p, p), i / 100, o / 100, b / 100] for p, i, o, b in
                            r.by_purpose.select("purpose", "in_fen", "out_fen", "balance_fen").iter_rows()),
                           caption="定向捐赠只用于指定用途；非定向资金列为“非定向（通用）”")
    return excel.to_bytes(months, purposes)


def lines(r: Report) -> list[str]:
    """The report as text lines (CLI)."""
    out = [f"{r.county} 慈善救助基金 {r.year} 年收支公开"]
    for m, p, d, i, g, o in r.rows.iter_rows():
        out.append(f"{m:%Y-%m} {PURPOSE_LABELS.get(p, p)}：捐赠 {d} 笔 {yuan(i)} 元，拨付 {g} 笔 {yuan(o)} 元")
    for p, i, o, b in r.by_purpose.select("purpose", "in_fen", "out_fen", "balance_fen").iter_rows():
        out.append(f"合计 {PURPOSE_LABELS.get(p, p)}：收入 {yuan(i)} 元，支出 {yuan(o)} 元，余额 {yuan(b)} 元")
    return out
