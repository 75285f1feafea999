"""儿童基本生活保障: orphans (institution / community), de-facto unsupported children, children in hardship.

国务院办公厅关于加强孤儿保障工作的意见 三（一）; 关于进一步加强事实无人抚养儿童保障工作的意见 一、三（一）;
国务院关于加强困境儿童保障工作的意见 三（一）. Amounts are per child per month (local standards).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason, money

KEY = "child_welfare"
LABEL = "孤儿及困境儿童基本生活保障"
STATUSES = ("orphan_institution", "orphan_community", "de_facto_unsupported", "in_hardship")
ORPHAN = "国务院办公厅关于加强孤儿保障工作的意见 三（一）"
DE_FACTO = "关于进一步加强事实无人抚养儿童保障工作的意见 三（一）"
HARDSHIP = "国务院关于加强困境儿童保障工作的意见 三（一）"
REFS = (ORPHAN, DE_FACTO, HARDSHIP, "特困人员认定办法 第九条")

CODES = Codes(KEY, [
    Reason("orphan_institution", "机构养育孤儿，基本生活费 {allowance} 元/月", (ORPHAN,)),
    Reason("orphan_community", "社会散居孤儿，基本生活费 {allowance} 元/月", (ORPHAN,)),
    Reason("de_facto_unsupported", "事实无人抚养儿童，基本生活补贴 {allowance} 元/月", (DE_FACTO,)),
    Reason("in_hardship", "困境儿童，基本生活费 {allowance} 元/月", (HARDSHIP,)),
    Reason("not_a_minor", "已满 {minor_age} 周岁，不属于儿童保障对象", (ORPHAN,)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予发放", (DE_FACTO,)),
    Reason("topped_up", "已领取低保金或特困供养金 {other} 元/人·月，未达补贴标准的补差发放", (DE_FACTO,)),
    Reason("chose_extreme_poverty",
           "同时符合特困人员条件，特困供养待遇较高，按特困人员保障",
           ("特困人员认定办法 第九条",)),
    Reason("covered_by_extreme_poverty",
           "无劳动能力、无生活来源、法定抚养人无抚养能力的儿童纳入特困人员救助供养",
           (HARDSHIP,)),
])


def members(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Per-child eligibility and full allowance, before the exclusions with 特困 and 低保."""
    allowance = {s: float(p[f"child_welfare.allowance.{s}"]) for s in STATUSES}
    status = pl.col("child_status")
    return m.with_columns(
        cw_ok=status.is_not_null() & pl.col("minor") & pl.col("exclusion").is_null(),
        cw_allowance=status.replace_strict(allowance, default=0.0, return_dtype=pl.Float64),
        cw_art9=status.is_in(["orphan_institution", "orphan_community", "de_facto_unsupported"]),
    )


def amounts(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Final per-child amount: de-facto children already on 低保 get the difference (补差)."""
    offset = bool(p.get("child_welfare.de_facto_offset", False))
    other = pl.col("db_person_amount")
    topped = (pl.col("cw_eligible") & (pl.col("child_status") == "de_facto_unsupported") & (other > 0)
              if offset else pl.lit(False))
    m = m.with_columns(cw_topped=topped).with_columns(
        cw_amount=money(pl.when(~pl.col("cw_eligible")).then(0.0)
                        .when(pl.col("cw_topped")).then(pl.max_horizontal(pl.col("cw_allowance") - other, pl.lit(0.0)))
                        .otherwise(pl.col("cw_allowance"))),
    )
    status = pl.col("child_status")
    return m.with_columns(cw_reasons=CODES.mask([
        *[(pl.col("cw_eligible") & (status == s), s) for s in STATUSES],
        (status.is_not_null() & ~pl.col("minor"), "not_a_minor"),
        (status.is_not_null() & pl.col("exclusion").is_not_null(), "excluded_member"),
        (pl.col("cw_topped"), "topped_up"),
        (pl.col("cw_ok") & ~pl.col("cw_eligible") & pl.col("cw_art9"), "chose_extreme_poverty"),
        (pl.col("cw_ok") & ~pl.col("cw_eligible") & ~pl.col("cw_art9"), "covered_by_extreme_poverty"),
    ]))
