"""刚性支出困难家庭: not on 低保/特困/边缘, per-capita income below last year's local disposable
income, property within limits, and the rigid spending of the window before the application above a
local share of the household's total income (家庭总收入: before the employment-cost deduction).

刚性支出困难家庭认定办法 Art. 4, 5, 10 (in force from 2025-01-01).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from doudi.core.dates import shift_months
from doudi.policy.protocol import Codes, Params, Program, Reason, by_hukou, param, start_of

KEY = "rigid_expense_hardship"


@dataclass(frozen=True)
class RigidParams(Params):
    """Parameters of 刚性支出困难家庭."""

    enabled: bool | None = param("rigid_expense_hardship.enabled", "bool", optional=True)
    expense_share: float | None = param("rigid_expense_hardship.expense_share", "number", optional=True)
    living_months: float | None = param("rigid_expense_hardship.living_expense_standard_months", "number",
                                        optional=True)
    valid_months: int | None = param("rigid_expense_hardship.valid_months", "int", optional=True)
    window_months: int = param("rigid_expenses.window_months", "int")
    disposable_urban: float | None = param("statistics.disposable_income.urban", "number", optional=True)
    disposable_rural: float | None = param("statistics.disposable_income.rural", "number", optional=True)
    in_force_from: date | None = start_of("rigid_expense_hardship.enabled")


CODES = Codes(KEY, [
    Reason("not_in_force", "《刚性支出困难家庭认定办法》自 {in_force_from} 起施行，评估日期在此之前", ()),
    Reason("already_assisted", "已纳入低保、特困或认定为低保边缘家庭", ("rigid_expense_hardship.criteria",)),
    Reason("income_below_average",
           "家庭年人均收入 {annual_pc_income} 元低于上年度当地居民人均可支配收入 {disposable_income} 元",
           ("rigid_expense_hardship.criteria",)),
    Reason("income_above_average",
           "家庭年人均收入 {annual_pc_income} 元不低于上年度当地居民人均可支配收入 {disposable_income} 元",
           ("rigid_expense_hardship.criteria",)),
    Reason("property_ok", "家庭财产符合规定", ("rigid_expense_hardship.criteria",)),
    Reason("property_exceeds", "家庭财产不符合规定", ("rigid_expense_hardship.criteria",)),
    Reason("expense_share_high",
           "前 {window_months} 个月刚性支出 {rigid_expenses} 元，占家庭总收入 {total_income} 元的 {expense_share_pct}，"
           "超过 {expense_limit_pct}", ("rigid_expense_hardship.criteria", "rigid_expense_hardship.expenses")),
    Reason("expense_share_low",
           "前 {window_months} 个月刚性支出 {rigid_expenses} 元，占家庭总收入 {total_income} 元的 {expense_share_pct}，"
           "未超过 {expense_limit_pct}", ("rigid_expense_hardship.criteria", "rigid_expense_hardship.expenses")),
    Reason("valid_12_months", "认定有效期 {valid_months} 个月，至 {valid_until}", ("rigid_expense_hardship.validity",)),
    Reason("missing_statistics", "本地区未配置上年度居民人均可支配收入", ("rigid_expense_hardship.criteria",)),
])


def valid_until(on: date, months: int) -> date:
    """The last day of a validity of `months` months starting on `on`."""
    return shift_months(on, months) - timedelta(days=1)


def _household(h: pl.DataFrame, q: RigidParams, on: date) -> pl.DataFrame:
    """Decision columns (needs dibao_eligible, dibao_marginal_eligible and ep_members)."""
    del on
    enabled = bool(q.enabled) and q.expense_share is not None
    share = q.expense_share if q.expense_share is not None else float("inf")
    total = pl.col("income_gross_all") * q.window_months
    # Art. 5 counts 生活支出 too; how it is valued is local: N months of the 低保 standard per counted member.
    living = pl.col("n_counted") * pl.col("std") * (q.living_months or 0.0)
    rigid = (pl.col("exp_medical") + pl.col("exp_education") + pl.col("exp_rehabilitation")
             + pl.col("exp_other").fill_null(0.0) + living)
    # No income but real spending: the share is unbounded (and certainly above the local limit).
    expense_share = pl.when(total > 0).then(rigid / total).when(rigid > 0).then(float("inf")).otherwise(0.0)
    h = h.with_columns(
        rg_in_force=pl.lit(enabled), disposable_income=by_hukou(q.disposable_urban, q.disposable_rural),
        rigid_expenses=rigid.round(2), total_income=total.round(2), expense_share=expense_share,
        expense_limit=pl.lit(share),
        rg_assisted=pl.col("dibao_eligible") | pl.col("dibao_marginal_eligible") | (pl.col("ep_members") > 0),
    )
    ok = (pl.col("rg_in_force") & ~pl.col("rg_assisted") & (pl.col("n_counted") > 0)
          & (pl.col("annual_pc_income") < pl.col("disposable_income")) & pl.col("prop_ok")
          & (pl.col("expense_share") > pl.col("expense_limit")))
    persons = pl.col("n_counted").cast(pl.Int32)
    h = h.with_columns(rigid_expense_hardship_eligible=ok.fill_null(False)).with_columns(
        rigid_expense_hardship_amount=pl.lit(0.0),
        rigid_expense_hardship_level=pl.lit(None, pl.String),
        rigid_expense_hardship_persons=pl.when(pl.col("rigid_expense_hardship_eligible")).then(persons).otherwise(0),
        rigid_expense_hardship_in_force=pl.col("rg_in_force"),
    )
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


def _pct(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v == float("inf"):
        return "∞（家庭无收入）"
    return f"{float(v) * 100:.1f}%"


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: RigidParams, on: date) -> dict[str, Any]:
    del ms
    t = {"annual_pc_income": h["annual_pc_income"], "disposable_income": h["disposable_income"],
         "rigid_expenses": h["rigid_expenses"], "total_income": h["total_income"], "window_months": q.window_months,
         "expense_share": h["expense_share"], "expense_limit": h["expense_limit"], "property_ok": h["prop_ok"],
         "expense_share_pct": _pct(h["expense_share"]), "expense_limit_pct": _pct(h["expense_limit"]),
         "valid_months": q.valid_months, "in_force_from": q.in_force_from}
    if h["rigid_expense_hardship_eligible"] and q.valid_months:
        t["valid_until"] = valid_until(on, q.valid_months).isoformat()
    return t


def _details(h: Mapping[str, Any], q: RigidParams, on: date) -> dict[str, Any]:
    if h["rigid_expense_hardship_eligible"] and q.valid_months:
        return {"valid_until": valid_until(on, q.valid_months).isoformat()}
    return {}


PROGRAM = Program(
    key=KEY, label="刚性支出困难家庭", order=40, codes=CODES, params=RigidParams,
    refs=("rigid_expense_hardship.criteria", "rigid_expense_hardship.expenses", "rigid_expense_hardship.validity"),
    stages={"household": _household},
    trace=_trace,
    details=_details,
)
