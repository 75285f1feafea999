"""低保边缘家庭: not eligible for 低保, per-capita income below 1.5 × the standard, property within limits.

最低生活保障审核确认办法 Art. 8 ¶2; 关于加强低收入人口动态监测做好分层分类社会救助工作的意见 二;
2022 通知 一（四）.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason

KEY = "dibao_marginal"
LABEL = "最低生活保障边缘家庭"
A8 = "最低生活保障审核确认办法 第八条"
MON = "关于加强低收入人口动态监测做好分层分类社会救助工作的意见 二"
REFS = (A8, MON)

CODES = Codes(KEY, [
    Reason("below_multiple",
           "家庭人均计算收入 {per_capita_income} 元/月，低于 {multiple} 倍低保标准 {marginal_line} 元/"
           "月",
           (A8, MON)),
    Reason("above_multiple",
           "家庭人均计算收入 {per_capita_income} 元/月，不低于 {multiple} 倍低保标准 {marginal_line} "
           "元/月",
           (A8,)),
    Reason("property_ok", "家庭财产符合规定", (A8,)),
    Reason("property_exceeds", "家庭财产不符合规定", (A8,)),
    Reason("is_dibao", "已符合低保条件，不再认定为边缘家庭", (A8,)),
    Reason("not_in_force", "评估日期早于低保边缘家庭认定规定施行日期", (A8,)),
    Reason("no_members", "没有计入的共同生活家庭成员", ("最低生活保障审核确认办法 第七条",)),
])


def household(h: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """The marginal test (before single-person inclusion) and the final decision columns."""
    mult = p.get("dibao_marginal.income_multiple")
    if not mult:
        return h.with_columns(marginal_line=pl.lit(None, pl.Float64), marginal_test=pl.lit(False),
                              mg_in_force=pl.lit(False))
    line = pl.col("std") * float(mult)
    return h.with_columns(marginal_line=line.round(2), mg_in_force=pl.lit(True)).with_columns(
        marginal_test=(pl.col("n") > 0) & ~pl.col("db_main") & ~pl.col("db_exit")
        & (pl.col("pc_exact") < pl.col("std") * float(mult)) & pl.col("prop_ok"),
    )


def reasons(h: pl.DataFrame) -> pl.DataFrame:
    """Reason mask."""
    has = pl.col("n") > 0
    return h.with_columns(dibao_marginal_reasons=CODES.mask([
        (pl.col("mg_in_force") & has & (pl.col("pc_exact") < pl.col("marginal_line")), "below_multiple"),
        (pl.col("mg_in_force") & has & (pl.col("pc_exact") >= pl.col("marginal_line")), "above_multiple"),
        (pl.col("mg_in_force") & pl.col("prop_ok"), "property_ok"),
        (pl.col("mg_in_force") & ~pl.col("prop_ok"), "property_exceeds"),
        (pl.col("mg_in_force") & (pl.col("db_main") | pl.col("db_exit")), "is_dibao"),
        (~pl.col("mg_in_force"), "not_in_force"),
        (pl.col("mg_in_force") & ~has, "no_members"),
    ]))
