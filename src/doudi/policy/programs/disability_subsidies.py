"""残疾人两项补贴: 困难残疾人生活补贴 (disabled members of 低保 households) and 重度残疾人护理补贴
(disability grade 1–2), per person.

国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见（国发〔2015〕52号）; amounts local.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason, money

KEY = "disability_subsidies"
LABEL = "残疾人两项补贴"
GUOFA = "国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见（国发〔2015〕52号）"
DE_FACTO = "关于进一步加强事实无人抚养儿童保障工作的意见 三（一）"
REFS = (GUOFA,)

CODES = Codes(KEY, [
    Reason("living", "低保家庭中的残疾人，困难残疾人生活补贴 {living} 元/月", (GUOFA,)),
    Reason("care", "{grade} 级重度残疾人，护理补贴 {care} 元/月", (GUOFA,)),
    Reason("not_low_income", "所在家庭未纳入低保，不享受困难残疾人生活补贴", (GUOFA,)),
    Reason("grade_not_severe", "残疾等级为 {grade} 级，不属于重度残疾人护理补贴对象", (GUOFA,)),
    Reason("de_facto_full", "已全额领取事实无人抚养儿童补贴，不享受困难残疾人生活补贴", (DE_FACTO,)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予发放", (GUOFA,)),
])


def members(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Per-member subsidies (needs db_included, h_marginal, cw_eligible, cw_topped)."""
    living_amount = float(p["disability_subsidies.living.amount"])
    include_marginal = bool(p.get("disability_subsidies.living.include_marginal", False))
    max_grade = int(p["disability_subsidies.care.max_grade"])
    care_by_grade = {g: float(p.get(f"disability_subsidies.care.amount.grade{g}", 0) or 0) for g in range(1, 5)}
    low_income = pl.col("db_included") | (pl.col("h_marginal") if include_marginal else pl.lit(False))
    de_facto_full = pl.col("cw_eligible") & (pl.col("child_status") == "de_facto_unsupported") & ~pl.col("cw_topped")
    present = pl.col("disabled") & pl.col("exclusion").is_null()
    m = m.with_columns(
        ds_living=present & low_income & ~de_facto_full,
        ds_care=present & (pl.col("disability_grade") <= max_grade).fill_null(False),
        ds_de_facto_full=present & low_income & de_facto_full,
    ).with_columns(
        ds_living_amount=pl.when(pl.col("ds_living")).then(living_amount).otherwise(0.0),
        ds_care_amount=pl.when(pl.col("ds_care")).then(
            pl.col("disability_grade").cast(pl.Int32).replace_strict(care_by_grade, default=0.0,
                                                                    return_dtype=pl.Float64)).otherwise(0.0),
    ).with_columns(
        ds_eligible=pl.col("ds_living") | pl.col("ds_care"),
        ds_amount=money(pl.col("ds_living_amount") + pl.col("ds_care_amount")),
        ds_level=pl.when(pl.col("ds_living") & pl.col("ds_care")).then(pl.lit("living+care"))
        .when(pl.col("ds_living")).then(pl.lit("living")).when(pl.col("ds_care")).then(pl.lit("care")),
    )
    return m.with_columns(ds_reasons=CODES.mask([
        (pl.col("ds_living"), "living"),
        (pl.col("ds_care"), "care"),
        (present & ~low_income, "not_low_income"),
        (present & ~pl.col("ds_care"), "grade_not_severe"),
        (pl.col("ds_de_facto_full"), "de_facto_full"),
        (pl.col("disabled") & pl.col("exclusion").is_not_null(), "excluded_member"),
    ]))
