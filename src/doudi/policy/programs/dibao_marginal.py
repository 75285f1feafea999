"""低保边缘家庭: not eligible for 低保, per-capita income below 1.5 × the standard, property within limits.

最低生活保障审核确认办法 Art. 8 ¶2 (from 2021-07-01); 2022 通知 一（四）; 低收入人口动态监测意见 二.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import Codes, Params, Program, Reason, param, start_of

KEY = "dibao_marginal"


@dataclass(frozen=True)
class MarginalParams(Params):
    """Parameters of 低保边缘家庭."""

    multiple: float | None = param("dibao_marginal.income_multiple", "number", optional=True)
    in_force_from: date | None = start_of("dibao_marginal.income_multiple")


CODES = Codes(KEY, [
    Reason("below_multiple",
           "家庭人均计算收入 {per_capita_income} 元/月，低于 {multiple} 倍低保标准 {marginal_line} 元/月",
           ("dibao_marginal.definition",)),
    Reason("above_multiple",
           "家庭人均计算收入 {per_capita_income} 元/月，不低于 {multiple} 倍低保标准 {marginal_line} 元/月",
           ("dibao_marginal.definition",)),
    Reason("property_ok", "家庭财产符合规定", ("dibao_marginal.definition",)),
    Reason("property_exceeds", "家庭财产不符合规定", ("dibao_marginal.definition",)),
    Reason("is_dibao", "已符合低保条件，不再认定为边缘家庭", ("dibao_marginal.definition",)),
    Reason("not_in_force", "低保边缘家庭认定自 {in_force_from} 起施行，评估日期在此之前", ()),
    Reason("no_members", "没有计入的共同生活家庭成员", ("dibao.members",)),
])


def _unit(h: pl.DataFrame, q: MarginalParams, on: date) -> pl.DataFrame:
    """The marginal test (before single-person inclusion)."""
    del on
    if q.multiple is None:
        return h.with_columns(marginal_line=pl.lit(None, pl.Float64), marginal_test=pl.lit(False),
                              mg_in_force=pl.lit(False))
    return h.with_columns(marginal_line=(pl.col("std") * q.multiple).round(2), mg_in_force=pl.lit(True)).with_columns(
        marginal_test=(pl.col("n") > 0) & ~pl.col("db_main") & ~pl.col("db_exit")
        & (pl.col("pc_exact") < pl.col("std") * q.multiple) & pl.col("prop_ok"),
    )


def _household(h: pl.DataFrame, q: MarginalParams, on: date) -> pl.DataFrame:
    del q, on
    has = pl.col("n") > 0
    f = pl.col("mg_in_force")
    return h.with_columns(
        dibao_marginal_eligible=pl.col("marginal_test"),
        dibao_marginal_amount=pl.lit(0.0),
        dibao_marginal_level=pl.lit(None, pl.String),
        dibao_marginal_persons=pl.when(pl.col("marginal_test")).then(pl.col("n_counted")).otherwise(0).cast(pl.Int32),
        dibao_marginal_in_force=f,
        dibao_marginal_reasons=CODES.mask([
            (f & has & (pl.col("pc_exact") < pl.col("marginal_line")), "below_multiple"),
            (f & has & (pl.col("pc_exact") >= pl.col("marginal_line")), "above_multiple"),
            (f & pl.col("prop_ok"), "property_ok"),
            (f & ~pl.col("prop_ok"), "property_exceeds"),
            (f & (pl.col("db_main") | pl.col("db_exit")), "is_dibao"),
            (~f, "not_in_force"),
            (f & ~has, "no_members"),
        ]),
    )


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: MarginalParams, on: date) -> dict[str, Any]:
    del ms, on
    return {"per_capita_income": h["per_capita_income"], "standard": h["std"], "multiple": q.multiple,
            "marginal_line": h["marginal_line"], "property_ok": h["prop_ok"], "in_force_from": q.in_force_from}


PROGRAM = Program(
    key=KEY, label="最低生活保障边缘家庭", order=20, codes=CODES, params=MarginalParams,
    refs=("dibao_marginal.definition",),
    stages={"unit": _unit, "household": _household},
    trace=_trace,
    to_members={"h_marginal_test": "marginal_test"},
)
