"""刚性支出困难家庭: not on 低保/特困/边缘, per-capita income below last year's local disposable
income, property within limits, and 12-month rigid spending above a local share of household income.

刚性支出困难家庭认定办法 Art. 4, 5, 10 (in force from 2025-01-01).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import polars as pl

from doudi.core.dates import shift_months
from doudi.policy.programs.base import Codes, Reason, by_hukou

KEY = "rigid_expense_hardship"
LABEL = "刚性支出困难家庭"
A4 = "刚性支出困难家庭认定办法 第四条"
A5 = "刚性支出困难家庭认定办法 第五条"
A10 = "刚性支出困难家庭认定办法 第十条"
REFS = (A4, A5, A10)

CODES = Codes(KEY, [
    Reason("not_in_force",
           "评估日期早于《刚性支出困难家庭认定办法》施行日期（2025-01-01）",
           ("刚性支出困难家庭认定办法 第十四条",)),
    Reason("already_assisted", "已纳入低保、特困或认定为低保边缘家庭", (A4,)),
    Reason("income_below_average",
           "家庭年人均收入 {annual_pc_income} 元低于上年度当地居民人均可支配收入 {disposable_income} "
           "元",
           (A4,)),
    Reason("income_above_average",
           "家庭年人均收入 {annual_pc_income} 元不低于上年度当地居民人均可支配收入 {disposable_income}"
           " 元",
           (A4,)),
    Reason("property_ok", "家庭财产符合规定", (A4,)),
    Reason("property_exceeds", "家庭财产不符合规定", (A4,)),
    Reason("expense_share_high",
           "前 12 个月刚性支出 {rigid_expenses} 元，占家庭总收入 {expense_share_pct}，超过"
           " {expense_limit_pct}",
           (A4, A5)),
    Reason("expense_share_low",
           "前 12 个月刚性支出 {rigid_expenses} 元，占家庭总收入 {expense_share_pct}，未超"
           "过 {expense_limit_pct}",
           (A4, A5)),
    Reason("valid_12_months", "认定有效期 {valid_months} 个月，至 {valid_until}", (A10,)),
    Reason("missing_statistics", "本地区未配置上年度居民人均可支配收入", (A4,)),
])


def valid_until(on: date, months: int) -> date:
    """The last day of a validity of `months` months starting on `on`."""
    return shift_months(on, months) - timedelta(days=1)


def household(h: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Decision columns (needs dibao_eligible, dibao_marginal_eligible and ep_members)."""
    enabled = bool(p.get("rigid_expense_hardship.enabled", False))
    disposable = by_hukou(p, "statistics.disposable_income")
    configured = p.get("rigid_expense_hardship.expense_share")  # absent before the 办法 took effect in 2025
    share = float(configured) if configured is not None else float("inf")
    annual_income = pl.col("counted_income_all") * 12
    # Art. 5 counts 生活支出 too; how it is valued is local: N months of the 低保 standard per counted member
    # (0 = not counted, the national default until the county sets it).
    living_months = float(p.get("rigid_expense_hardship.living_expense_standard_months", 0) or 0)
    living = pl.col("n_counted") * pl.col("std") * living_months
    rigid = (pl.col("exp_medical") + pl.col("exp_education") + pl.col("exp_rehabilitation")
             + pl.col("exp_other").fill_null(0.0) + living)
    # No income but real spending: the share is unbounded (and certainly above the local limit).
    expense_share = (pl.when(annual_income > 0).then(rigid / annual_income)
                     .when(rigid > 0).then(float("inf")).otherwise(0.0))
    h = h.with_columns(
        rg_in_force=pl.lit(enabled),
        disposable_income=disposable,
        rigid_expenses=rigid.round(2),
        expense_share=expense_share,
        expense_limit=pl.lit(share),
        rg_assisted=pl.col("dibao_eligible") | pl.col("dibao_marginal_eligible") | (pl.col("ep_members") > 0),
    )
    ok = (pl.col("rg_in_force") & ~pl.col("rg_assisted") & (pl.col("n_counted") > 0)
          & (pl.col("annual_pc_income") < pl.col("disposable_income")) & pl.col("prop_ok")
          & (pl.col("expense_share") > pl.col("expense_limit")))
    h = h.with_columns(rigid_expense_hardship_eligible=ok.fill_null(False))
    f = pl.col("rg_in_force")
    return h.with_columns(rigid_expense_hardship_reasons=CODES.mask([
        (~f, "not_in_force"),
        (f & pl.col("rg_assisted"), "already_assisted"),
        (f & (pl.col("annual_pc_income") < pl.col("disposable_income")), "income_below_average"),
        (f & (pl.col("annual_pc_income") >= pl.col("disposable_income")), "income_above_average"),
        (f & pl.col("prop_ok"), "property_ok"),
        (f & ~pl.col("prop_ok"), "property_exceeds"),
        (f & (pl.col("expense_share") > pl.col("expense_limit")), "expense_share_high"),
        (f & (pl.col("expense_share") <= pl.col("expense_limit")), "expense_share_low"),
        (pl.col("rigid_expense_hardship_eligible"), "valid_12_months"),
        (f & pl.col("disposable_income").is_null(), "missing_statistics"),
    ]))
