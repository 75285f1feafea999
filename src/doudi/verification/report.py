"""The 核对报告: declared versus verified facts per household and month — a pure function over frames.

`compute` takes frames keyed by household_id, so one household and a whole county go through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from doudi.registry.vocab import label


@dataclass(frozen=True)
class ReportParams:
    """Rule inputs of the comparison (from the policy pack)."""

    counted_kinds: tuple[str, ...]
    tolerance_ratio: float
    tolerance_yuan: float


@dataclass
class Report:
    """Every table of the report, each a frame with household_id."""

    months: list[date]
    income_by_month: pl.DataFrame  # household_id, person_id, source_key, kind, month, amount
    income_compare: pl.DataFrame  # household_id, person_id, kind, counted, declared, verified, difference, flagged
    totals: pl.DataFrame  # household_id, members, declared, verified, difference, declared_pc, verified_pc
    asset_compare: pl.DataFrame  # household_id, kind, declared_count, verified_count, declared_value, verified_value
    statuses: pl.DataFrame  # household_id, person_id, source_key, finding
    discrepancies: pl.DataFrame  # household_id, category, person_id, item, declared, verified, difference
    conclusions: dict[int, str] = field(default_factory=dict)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from start to end inclusive."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _declared_monthly(declared: pl.DataFrame, months: list[date]) -> pl.DataFrame:
    """A declared fact's monthly amount counts in each month its period covers."""
    month_frame = pl.DataFrame({"month": months})
    return declared.join(month_frame, how="cross").filter(
        (pl.col("period_start") <= pl.col("month")) & (pl.col("period_end") >= pl.col("month"))
    )


def compute(
    *,
    members: pl.DataFrame,  # household_id, person_id, name
    declared_income: pl.DataFrame,  # household_id, person_id, kind, amount, period_start, period_end
    verified_income: pl.DataFrame,  # household_id, person_id, source_key, kind, amount, period_start
    declared_assets: pl.DataFrame,  # household_id, kind, quantity, value, exempt
    verified_assets: pl.DataFrame,  # household_id, person_id, source_key, kind, quantity, value, exempt, description
    statuses: pl.DataFrame,  # household_id, person_id, source_key, finding
    period_start: date,
    period_end: date,
    params: ReportParams,
) -> Report:
    """Compare declared with verified income (per month and kind) and assets (per kind); flag differences."""
    months = months_between(period_start, period_end)
    n = max(len(months), 1)
    counted = list(params.counted_kinds)

    vi = verified_income.with_columns(pl.col("period_start").alias("month")).filter(pl.col("month").is_in(months))
    income_by_month = vi.group_by(["household_id", "person_id", "source_key", "kind", "month"]).agg(
        pl.col("amount").sum()).sort(["household_id", "person_id", "source_key", "kind", "month"])

    keys = ["household_id", "person_id", "kind"]
    dm = _declared_monthly(declared_income, months).group_by(keys).agg((pl.col("amount").sum() / n).alias("declared"))
    vm = vi.group_by(keys).agg((pl.col("amount").sum() / n).alias("verified"))
    compare = dm.join(vm, on=keys, how="full", coalesce=True).with_columns(
        pl.col("declared").fill_null(0.0).round(2), pl.col("verified").fill_null(0.0).round(2),
        pl.col("kind").is_in(counted).alias("counted"),
    ).with_columns((pl.col("verified") - pl.col("declared")).round(2).alias("difference"))
    tolerance = pl.max_horizontal(pl.lit(params.tolerance_yuan), pl.col("verified").abs() * params.tolerance_ratio)
    compare = compare.with_columns(
        (pl.col("counted") & (pl.col("difference").abs() > tolerance)).alias("flagged")
    ).sort(keys)

    size = members.group_by("household_id").agg(pl.len().alias("members"))
    totals = compare.filter(pl.col("counted")).group_by("household_id").agg(
        pl.col("declared").sum(), pl.col("verified").sum())
    totals = size.join(totals, on="household_id", how="left").with_columns(
        pl.col("declared").fill_null(0.0).round(2), pl.col("verified").fill_null(0.0).round(2),
    ).with_columns(
        (pl.col("verified") - pl.col("declared")).round(2).alias("difference"),
        (pl.col("declared") / pl.col("members")).round(2).alias("declared_pc"),
        (pl.col("verified") / pl.col("members")).round(2).alias("verified_pc"),
    )

    akeys = ["household_id", "kind"]
    da = declared_assets.filter(~pl.col("exempt")).group_by(akeys).agg(
        pl.col("quantity").sum().alias("declared_count"), pl.col("value").sum().alias("declared_value"))
    # A register that records holdings without a value (不动产登记: the house, not its price) leaves the verified
    # value unknown, not 0.00: the declared value is then reported as not verified, never as "no difference".
    va = verified_assets.filter(~pl.col("exempt")).group_by(akeys).agg(
        pl.col("quantity").sum().alias("verified_count"),
        pl.when((pl.col("value") > 0).any()).then(pl.col("value").sum()).alias("verified_value"))
    assets = da.join(va, on=akeys, how="full", coalesce=True).with_columns(
        pl.col("declared_count", "verified_count").fill_null(0).cast(pl.Int64),
        pl.col("declared_value").fill_null(0.0).round(2),
    ).with_columns(
        pl.when(pl.col("verified_count") == 0).then(pl.lit(0.0)).otherwise(pl.col("verified_value")).round(2)
        .alias("verified_value"),
    ).with_columns(
        (pl.col("verified_value").is_null() & (pl.col("declared_value") > 0)).alias("unvalued"),
        ((pl.col("verified_count") > pl.col("declared_count")) | (
            pl.col("verified_value") > pl.col("declared_value") * (1 + params.tolerance_ratio) + params.tolerance_yuan
        ).fill_null(False)).alias("flagged"),
    ).sort(akeys)

    disc = pl.concat([
        compare.filter(pl.col("flagged")).select(
            "household_id", pl.lit("income").alias("category"), "person_id",
            pl.col("kind").alias("item"), "declared", "verified", "difference"),
        assets.filter(pl.col("flagged")).select(
            "household_id", pl.lit("asset").alias("category"), pl.lit(None, dtype=pl.Int64).alias("person_id"),
            pl.col("kind").alias("item"), pl.col("declared_value").alias("declared"),
            pl.col("verified_value").alias("verified"),
            (pl.col("verified_value") - pl.col("declared_value")).round(2).alias("difference")),
        statuses.select("household_id", pl.lit("status").alias("category"), "person_id",
                        pl.col("finding").alias("item"), pl.lit(None, dtype=pl.Float64).alias("declared"),
                        pl.lit(None, dtype=pl.Float64).alias("verified"),
                        pl.lit(None, dtype=pl.Float64).alias("difference")),
    ], how="vertical_relaxed")

    conclusions = {}
    for hid in members["household_id"].unique().to_list():
        mine = disc.filter(pl.col("household_id") == hid)
        tot = totals.filter(pl.col("household_id") == hid)
        unvalued = assets.filter((pl.col("household_id") == hid) & pl.col("unvalued"))["kind"].to_list()
        conclusions[hid] = conclusion(mine, tot, unvalued)
    return Report(months, income_by_month, compare, totals, assets, statuses, disc, conclusions)


def conclusion(discrepancies: pl.DataFrame, totals: pl.DataFrame, unvalued: list[str] | None = None) -> str:
    """One paragraph: consistent, or which differences need explaining and how large they are; property whose
    value no agency gave (`unvalued` kinds) is named as not verified."""
    kinds = "、".join(label(k) for k in unvalued or [])
    unverified = f"部门数据只登记了{kinds}的数量、未提供价值，申报的价值未经核对，需入户核实" if kinds else ""
    if discrepancies.height == 0:
        if unverified:
            return f"经信息核对，家庭申报的收入与部门数据一致，财产数量与部门登记一致；{unverified}。"
        return "经信息核对，家庭申报的收入和财产与部门数据一致，未发现需要说明的差异。"
    parts = []
    inc = discrepancies.filter(pl.col("category") == "income")
    if inc.height:
        diff = float(inc["difference"].sum())
        parts.append(f"收入项目差异 {inc.height} 项，合计月均差额 {diff:+,.2f} 元")
    if totals.height:
        t = totals.row(0, named=True)
        parts.append(f"计入家庭收入的月均收入：申报 {t['declared']:,.2f} 元，核对 {t['verified']:,.2f} 元，"
                     f"人均 {t['declared_pc']:,.2f} / {t['verified_pc']:,.2f} 元")
    ast = discrepancies.filter(pl.col("category") == "asset")
    if ast.height:
        parts.append("发现未申报或多于申报的财产：" + "、".join(label(k) for k in ast["item"].to_list()))
    st = discrepancies.filter(pl.col("category") == "status")
    if st.height:
        parts.append(f"身份状态需核实 {st.height} 项")
    if unverified:
        parts.append(unverified)
    return "经信息核对，发现以下差异，需申请人说明或入户核实：" + "；".join(parts) + "。"
