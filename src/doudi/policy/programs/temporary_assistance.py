"""临时救助: 急难型 (emergency) or 支出型 (expenditure); amount tiers tied to the 低保 standard,
一事一议 for major hardship, approval level by amount, emergency payment deadline.

社会救助暂行办法 Art. 47 (支出型 for 低保 households), 48 (approval), 49 (standards); from 2018-01-23 临时救助意见
二（一） (支出型: income below last year's disposable income, property within limits), 二（二） (先行救助,
township approval), 二（三） (一事一议 for major hardship, with a raised amount); 改革完善意见 二（四）15.
"1000元以下" includes 1,000 (民法典 Art. 1259).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import Codes, Params, Program, Reason, by_hukou, money, param, tier_value
from doudi.policy.resolved import PackError

KEY = "temporary_assistance"
EXPENDITURE_RULES = ("dibao_households", "income_and_property")


@dataclass(frozen=True)
class TAParams(Params):
    """Parameters of 临时救助."""

    tiers_emergency: list[dict[str, Any]] = param("temporary_assistance.tiers.emergency", "list")
    tiers_expenditure: list[dict[str, Any]] = param("temporary_assistance.tiers.expenditure", "list")
    expenditure_rule: str = param("temporary_assistance.expenditure.eligibility", "str")
    township_limit: float = param("temporary_assistance.township_limit", "number")
    major_hardship_months: float = param("temporary_assistance.county_cap_months", "number")
    case_by_case_kinds: list[str] | None = param("temporary_assistance.case_by_case.kinds", "list", optional=True)
    case_by_case_raise: float | None = param("temporary_assistance.case_by_case.cover_raise", "number", optional=True)
    deadline_hours: float | None = param("temporary_assistance.emergency_deadline_hours", "number", optional=True)
    disposable_urban: float | None = param("statistics.disposable_income.urban", "number", optional=True)
    disposable_rural: float | None = param("statistics.disposable_income.rural", "number", optional=True)


CODES = Codes(KEY, [
    Reason("no_need", "未提出临时救助需求", ("temporary_assistance.kinds",)),
    Reason("emergency", "急难型：因意外事件、突发重大疾病等导致基本生活暂时出现严重困难，可先行救助",
           ("temporary_assistance.kinds", "temporary_assistance.procedure")),
    Reason("expenditure", "支出型：因教育、医疗等必需支出突然增加导致基本生活出现严重困难",
           ("temporary_assistance.kinds",)),
    Reason("dibao_household", "支出型临时救助对象为最低生活保障家庭：本户为低保家庭", ("temporary_assistance.kinds",)),
    Reason("not_dibao_household", "支出型临时救助对象为最低生活保障家庭：本户不是低保家庭",
           ("temporary_assistance.kinds",)),
    Reason("income_below_average",
           "家庭年人均收入 {annual_pc_income} 元低于上年度当地居民人均可支配收入 {disposable_income} 元",
           ("temporary_assistance.expenditure",)),
    Reason("income_above_average",
           "家庭年人均收入 {annual_pc_income} 元不低于上年度当地居民人均可支配收入 {disposable_income} 元",
           ("temporary_assistance.expenditure",)),
    Reason("property_exceeds", "家庭财产不符合规定", ("temporary_assistance.expenditure",)),
    Reason("amount", "需求 {need} 元折合低保标准 {need_months} 个月，按 {cover_pct} 救助 {amount} 元",
           ("temporary_assistance.standard",)),
    Reason("township", "金额 {amount} 元不超过 {township_limit} 元（含本数），由乡镇（街道）审批",
           ("temporary_assistance.approval",)),
    Reason("county", "由县级民政部门审批", ("temporary_assistance.approval",)),
    Reason("case_by_case",
           "困难所需 {need} 元超过 {county_cap} 元（{cap_months} 个月低保标准），属重大生活困难，"
           "“一事一议”并提高救助比例 {raise_pct}", ("temporary_assistance.case_by_case",)),
    Reason("deadline", "急难型救助应在 {deadline_hours} 小时内发放，事后补办手续", ("temporary_assistance.deadline",)),
    Reason("missing_statistics", "本地区未配置上年度居民人均可支配收入", ("temporary_assistance.expenditure",)),
])


def _household(h: pl.DataFrame, q: TAParams, on: date) -> pl.DataFrame:
    """Decision columns (needs dibao_eligible for the pre-2018 rule)."""
    del on
    if q.expenditure_rule not in EXPENDITURE_RULES:
        raise PackError(f"temporary_assistance.expenditure.eligibility 应为 {' 或 '.join(EXPENDITURE_RULES)}")
    kind = pl.col("need_kind")
    months = pl.col("need_amount") / pl.col("std")
    tiers = {"emergency": tier_value(months, q.tiers_emergency, bound="up_to_months", out="cover", ascending=True),
             "expenditure": tier_value(months, q.tiers_expenditure, bound="up_to_months", out="cover",
                                       ascending=True)}
    cover = pl.when(kind == "emergency").then(tiers["emergency"]).otherwise(tiers["expenditure"])
    dibao_household = pl.col("receiving_dibao") | pl.col("dibao_household")
    income_ok = pl.col("annual_pc_income") < pl.col("disposable_income")
    expenditure_ok = dibao_household if q.expenditure_rule == "dibao_households" else income_ok & pl.col("prop_ok")
    kinds = q.case_by_case_kinds or []
    h = h.with_columns(
        need_months=months.round(2), county_cap=money(pl.col("std") * q.major_hardship_months),
        township_limit=pl.lit(q.township_limit), disposable_income=by_hukou(q.disposable_urban, q.disposable_rural),
    ).with_columns(
        ta_income_ok=income_ok, ta_dibao_household=dibao_household,
        temporary_assistance_eligible=((kind == "emergency") | ((kind == "expenditure") & expenditure_ok))
        .fill_null(False),
    ).with_columns(
        ta_major=pl.col("temporary_assistance_eligible") & kind.is_in(kinds).fill_null(False)
        & (pl.col("need_amount") > pl.col("county_cap")),
    ).with_columns(
        cover=pl.when(pl.col("ta_major")).then(pl.min_horizontal(cover + (q.case_by_case_raise or 0.0), pl.lit(1.0)))
        .otherwise(cover),
    ).with_columns(
        ta_amount=money(pl.when(pl.col("temporary_assistance_eligible")).then(pl.col("need_amount") * pl.col("cover"))
                        .otherwise(0.0)),
    ).with_columns(
        ta_approval=pl.when(~pl.col("temporary_assistance_eligible")).then(None)
        .when(pl.col("ta_major")).then(pl.lit("case_by_case"))
        .when(pl.col("ta_amount") <= pl.col("township_limit")).then(pl.lit("township"))
        .otherwise(pl.lit("county")),
        ta_deadline=(pl.when(pl.col("temporary_assistance_eligible") & (kind == "emergency")).then(q.deadline_hours)
                     .otherwise(None) if q.deadline_hours is not None else pl.lit(None, pl.Float64)),
    )
    ok = pl.col("temporary_assistance_eligible")
    persons = pl.col("n_counted").cast(pl.Int32)
    dibao_rule = q.expenditure_rule == "dibao_households"
    exp = kind == "expenditure"
    return h.with_columns(
        temporary_assistance_amount=pl.col("ta_amount"),
        temporary_assistance_level=pl.when(ok).then(kind),
        temporary_assistance_persons=pl.when(ok).then(persons).otherwise(0),
        temporary_assistance_in_force=pl.lit(True),
        temporary_assistance_reasons=CODES.mask([
            (kind.is_null(), "no_need"),
            (kind == "emergency", "emergency"),
            (exp, "expenditure"),
            (exp & pl.lit(dibao_rule) & pl.col("ta_dibao_household"), "dibao_household"),
            (exp & pl.lit(dibao_rule) & ~pl.col("ta_dibao_household"), "not_dibao_household"),
            (exp & pl.lit(not dibao_rule) & pl.col("ta_income_ok"), "income_below_average"),
            (exp & pl.lit(not dibao_rule) & ~pl.col("ta_income_ok"), "income_above_average"),
            (exp & pl.lit(not dibao_rule) & ~pl.col("prop_ok"), "property_exceeds"),
            (ok, "amount"),
            (pl.col("ta_approval") == "township", "township"),
            (pl.col("ta_approval") == "county", "county"),
            (pl.col("ta_approval") == "case_by_case", "case_by_case"),
            (pl.col("ta_deadline").is_not_null(), "deadline"),
            (exp & pl.lit(not dibao_rule) & pl.col("disposable_income").is_null(), "missing_statistics"),
        ]),
    )


def _pct(v: Any) -> str:
    return "—" if v is None else f"{float(v) * 100:.1f}%"


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: TAParams, on: date) -> dict[str, Any]:
    del ms, on
    return {"kind": h["need_kind"], "need": h["need_amount"], "standard": h["std"], "need_months": h["need_months"],
            "cover": h["cover"], "cover_pct": _pct(h["cover"]), "amount": h["ta_amount"],
            "township_limit": h["township_limit"], "county_cap": h["county_cap"],
            "cap_months": q.major_hardship_months, "raise_pct": _pct(q.case_by_case_raise),
            "deadline_hours": h["ta_deadline"], "annual_pc_income": h["annual_pc_income"],
            "disposable_income": h["disposable_income"], "expenditure_rule": q.expenditure_rule}


def _details(h: Mapping[str, Any], q: TAParams, on: date) -> dict[str, Any]:
    del q, on
    ok = bool(h["temporary_assistance_eligible"])
    return {"approval_level": h["ta_approval"], "deadline_hours": h["ta_deadline"],
            "one_off_amount": round(float(h["ta_amount"] or 0.0), 2) if ok else None}


PROGRAM = Program(
    key=KEY, label="临时救助", order=50, codes=CODES, params=TAParams,
    refs=("temporary_assistance.kinds", "temporary_assistance.approval", "temporary_assistance.standard"),
    stages={"household": _household},
    trace=_trace,
    details=_details,
)
