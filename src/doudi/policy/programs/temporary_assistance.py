"""临时救助: 急难型 (emergency) or 支出型 (expenditure); amount tiers tied to the 低保 standard,
approval level by amount, emergency payment deadline.

社会救助暂行办法 Art. 47–49; 关于进一步加强和改进临时救助工作的意见 二（一）–（三）.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason, by_hukou, money, tier_value

KEY = "temporary_assistance"
LABEL = "临时救助"
A47 = "社会救助暂行办法 第四十七条"
A48 = "社会救助暂行办法 第四十八条"
O1 = "关于进一步加强和改进临时救助工作的意见 二（一）"
O2 = "关于进一步加强和改进临时救助工作的意见 二（二）"
O3 = "关于进一步加强和改进临时救助工作的意见 二（三）"
REFS = (A47, A48, O1, O2, O3)

CODES = Codes(KEY, [
    Reason("no_need", "未提出临时救助需求", (A47,)),
    Reason("emergency", "急难型：因意外事件、突发重大疾病等导致基本生活暂时出现严重困难，可先行救助", (A47, O1, O2)),
    Reason("expenditure", "支出型：因教育、医疗等必需支出突然增加导致基本生活出现严重困难", (A47, O1)),
    Reason("income_below_average",
           "家庭年人均收入 {annual_pc_income} 元低于上年度当地居民人均可支配收入 {disposable_income} "
           "元",
           (O1,)),
    Reason("income_above_average",
           "家庭年人均收入 {annual_pc_income} 元不低于上年度当地居民人均可支配收入 {disposable_income}"
           " 元",
           (O1,)),
    Reason("property_exceeds", "家庭财产不符合规定", (O1,)),
    Reason("amount", "需求 {need} 元折合低保标准 {need_months} 个月，按 {cover_pct} 救助 {amount} 元", (O3,)),
    Reason("township", "金额低于 {township_limit} 元，由乡镇（街道）审批", (A48, O2)),
    Reason("county", "由县级民政部门审批", (A48,)),
    Reason("case_by_case", "金额超过县级标准上限 {county_cap} 元，实行“一事一议”", (O3,)),
    Reason("deadline", "急难型救助应在 {deadline_hours} 小时内发放，事后补办手续", (O2,)),
    Reason("missing_statistics", "本地区未配置上年度居民人均可支配收入", (O1,)),
])


def household(h: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Decision columns."""
    kind = pl.col("need_kind")
    months = pl.col("need_amount") / pl.col("std")
    tiers = {k: tier_value(months, p[f"temporary_assistance.tiers.{k}"], bound="up_to_months", out="cover",
                           ascending=True) for k in ("emergency", "expenditure")}
    cover = pl.when(kind == "emergency").then(tiers["emergency"]).otherwise(tiers["expenditure"])
    disposable = by_hukou(p, "statistics.disposable_income")
    township_limit = float(p["temporary_assistance.township_limit"])
    cap_months = float(p["temporary_assistance.county_cap_months"])
    hours = p.get("temporary_assistance.emergency_deadline_hours")
    h = h.with_columns(
        need_months=months.round(2), cover=cover, county_cap=money(pl.col("std") * cap_months),
        township_limit=pl.lit(township_limit), disposable_income=disposable,
    ).with_columns(
        ta_income_ok=pl.col("annual_pc_income") < pl.col("disposable_income"),
    ).with_columns(
        temporary_assistance_eligible=(
            (kind == "emergency") | ((kind == "expenditure") & pl.col("ta_income_ok") & pl.col("prop_ok"))
        ).fill_null(False),
    ).with_columns(
        ta_amount=money(pl.when(pl.col("temporary_assistance_eligible")).then(pl.col("need_amount") * pl.col("cover"))
                        .otherwise(0.0)),
    ).with_columns(
        ta_approval=pl.when(~pl.col("temporary_assistance_eligible")).then(None)
        .when(pl.col("ta_amount") < pl.col("township_limit")).then(pl.lit("township"))
        .when(pl.col("ta_amount") <= pl.col("county_cap")).then(pl.lit("county"))
        .otherwise(pl.lit("case_by_case")),
        ta_deadline=(pl.when(pl.col("temporary_assistance_eligible") & (kind == "emergency")).then(float(hours))
                     .otherwise(None) if hours is not None else pl.lit(None, pl.Float64)),
    )
    ok = pl.col("temporary_assistance_eligible")
    return h.with_columns(temporary_assistance_reasons=CODES.mask([
        (kind.is_null(), "no_need"),
        (kind == "emergency", "emergency"),
        (kind == "expenditure", "expenditure"),
        ((kind == "expenditure") & pl.col("ta_income_ok"), "income_below_average"),
        ((kind == "expenditure") & ~pl.col("ta_income_ok"), "income_above_average"),
        ((kind == "expenditure") & ~pl.col("prop_ok"), "property_exceeds"),
        (ok, "amount"),
        (pl.col("ta_approval") == "township", "township"),
        (pl.col("ta_approval") == "county", "county"),
        (pl.col("ta_approval") == "case_by_case", "case_by_case"),
        (pl.col("ta_deadline").is_not_null(), "deadline"),
        ((kind == "expenditure") & pl.col("disposable_income").is_null(), "missing_statistics"),
    ]))
