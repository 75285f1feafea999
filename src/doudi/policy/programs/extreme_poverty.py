"""特困人员 (extreme poverty): per person, all three criteria; care level, amount and care hours.

特困人员认定办法 Art. 4–6 (criteria), Art. 21–22 (six self-care items), Art. 20 (care standard by
level); 国发〔2016〕14号 (basic living standard at least 1.3 × the 低保 standard; 1.6 in Guangdong).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason, money

KEY = "extreme_poverty"
LABEL = "特困人员救助供养"
REFS = ("社会救助暂行办法 第十四条", "特困人员认定办法 第四条至第六条", "特困人员认定办法 第二十一条、第二十二条")
A4 = "特困人员认定办法 第四条"
A5 = "特困人员认定办法 第五条"
A6 = "特困人员认定办法 第六条"
A8 = "特困人员认定办法 第八条"
A9 = "特困人员认定办法 第九条"
A22 = "特困人员认定办法 第二十二条"

CODES = Codes(KEY, [
    Reason("no_labour_elderly", "年满 {elderly_age} 周岁，视为无劳动能力", (A5,)),
    Reason("no_labour_minor", "未满 {labour_min_age} 周岁，视为无劳动能力", (A5,)),
    Reason("no_labour_disability", "残疾类别与等级属于无劳动能力情形", (A5,)),
    Reason("has_labour_capacity", "不属于无劳动能力情形（年龄、残疾类别等级）", (A5,)),
    Reason("no_livelihood", "本人收入 {own_income} 元/月低于低保标准 {standard} 元/月，且财产符合规定", (A6,)),
    Reason("own_income_too_high", "本人收入 {own_income} 元/月不低于低保标准 {standard} 元/月", (A6,)),
    Reason("property_exceeds", "家庭财产不符合规定", (A6, "特困人员认定办法 第七条")),
    Reason("has_capable_supporter", "有具备履行能力的法定赡养、抚养、扶养义务人", (A4, A8)),
    Reason("supporter_assumed", "档案未登记法定义务人履行能力，按同户成年成员推定；请入户核实后在家庭档案中登记",
           (A8,)),
    Reason("no_capable_supporter", "无法定义务人或义务人无履行能力", (A4, A8)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予认定", ("特困人员认定办法 第二十四条",)),
    Reason("eligible", "同时具备无劳动能力、无生活来源、无法定义务人（或其无履行能力）三个条件", (A4,)),
    Reason("care_self_care", "六项自理指标全部达到：具备生活自理能力", (A22,)),
    Reason("care_partial", "{unable} 项自理指标不能达到：部分丧失生活自理能力", (A22,)),
    Reason("care_full", "{unable} 项自理指标不能达到：完全丧失生活自理能力", (A22,)),
    Reason("chose_child_welfare",
           "同时符合孤儿/事实无人抚养儿童条件，纳入儿童基本生活保障（待遇较高），不再认定为特困人员",
           (A9,)),
    Reason("amount", "基本生活标准 {basic} 元 + 照料护理标准 {care} 元 = {amount} 元/月",
           ("国务院关于进一步健全特困人员救助供养制度的意见（国发〔2016〕14号）", "特困人员认定办法 第二十条")),
])


LEVELS = ("self_care", "partial", "full")


def _by_rank(values: list[float]) -> pl.Expr:
    r = pl.col("ep_rank")
    return pl.when(r == 3).then(values[2]).when(r == 2).then(values[1]).otherwise(values[0])


def level_name(rank: int | None) -> str | None:
    """The care level name of a rank (1–3)."""
    return LEVELS[rank - 1] if rank else None


def members(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Per-member 特困 decision; needs std, prop_ok and has_capable_supporter joined from the household."""
    partial_min = int(p["extreme_poverty.care.partial_min_unable"])
    full_min = int(p["extreme_poverty.care.full_min_unable"])
    mult = float(p["extreme_poverty.basic_multiplier"])
    basic_u = float(p.get("extreme_poverty.basic_standard.urban", 0) or 0)
    basic_r = float(p.get("extreme_poverty.basic_standard.rural", 0) or 0)
    unable = pl.col("self_care_unable_items")
    # Care level as a small integer (1 self-care, 2 partial, 3 full): cheaper than strings on millions of rows.
    rank = (pl.when(unable >= full_min).then(3).when(unable >= partial_min).then(2).otherwise(1)).cast(pl.Int8)
    care = [float(p[f"extreme_poverty.care_standard.{lv}"]) for lv in LEVELS]
    hours = [p.get(f"extreme_poverty.care_hours.{lv}") for lv in LEVELS]
    has_hours = all(v is not None for v in hours)
    basic = pl.max_horizontal(pl.when(pl.col("urban")).then(pl.lit(basic_u)).otherwise(pl.lit(basic_r)),
                              pl.col("std") * mult)
    m = m.with_columns(
        ep_no_livelihood=(pl.col("income_own_ep") < pl.col("std")) & pl.col("prop_ok"),
        ep_rank=rank,
    ).with_columns(
        ep_ok=pl.col("exclusion").is_null() & pl.col("no_labour") & pl.col("ep_no_livelihood")
        & ~pl.col("has_capable_supporter"),
        ep_basic=money(basic),
        ep_care=_by_rank(care),
        ep_hours=_by_rank([float(h) for h in hours if h is not None]) if has_hours else pl.lit(None, pl.Float64),
    )
    return m.with_columns(ep_full_amount=money(pl.col("ep_basic") + pl.col("ep_care")))


def reasons(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """The 特困 reason mask (after the Art. 9 choice has set ep_eligible)."""
    elderly = pl.col("elderly")
    minor = pl.col("age") < int(p["age.labour_min"])
    return m.with_columns(ep_reasons=CODES.mask([
        (elderly, "no_labour_elderly"),
        (minor, "no_labour_minor"),
        (pl.col("no_labour_disability") & ~elderly & ~minor, "no_labour_disability"),
        (~pl.col("no_labour"), "has_labour_capacity"),
        (pl.col("ep_no_livelihood"), "no_livelihood"),
        (pl.col("income_own_ep") >= pl.col("std"), "own_income_too_high"),
        (~pl.col("prop_ok"), "property_exceeds"),
        (pl.col("has_capable_supporter"), "has_capable_supporter"),
        (~pl.col("has_capable_supporter"), "no_capable_supporter"),
        (pl.col("supporter_assumed").fill_null(False), "supporter_assumed"),
        (pl.col("exclusion").is_not_null(), "excluded_member"),
        (pl.col("ep_eligible"), "eligible"),
        (pl.col("ep_eligible") & (pl.col("ep_rank") == 1), "care_self_care"),
        (pl.col("ep_eligible") & (pl.col("ep_rank") == 2), "care_partial"),
        (pl.col("ep_eligible") & (pl.col("ep_rank") == 3), "care_full"),
        (pl.col("ep_ok") & ~pl.col("ep_eligible"), "chose_child_welfare"),
        (pl.col("ep_eligible"), "amount"),
    ]))
