"""最低生活保障 (低保): household members, counted income, property, 补差 or tiered amounts, 分类施保
increments, single-person inclusion (单人户), refusal of work, gradual exit and review interval.

最低生活保障审核确认办法 Art. 7 (members), 8 (single-person application), 13 (income), 14 (property),
23 (amount), 27 (分类施保), 31 (reviews), 33–34; 社会救助暂行办法 Arts. 9–13, 45; 改革完善意见 二（三）11
and 2022 通知 一（三） (渐退 after employment only); 2022 通知 一（一） (成年无业重度残疾人 参照单人户,
with no further condition: the same paragraph forbids extra restrictive conditions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import (
    Codes,
    MemberOutput,
    Pairs,
    Params,
    Program,
    Reason,
    SparseMask,
    disability_within,
    money,
    months_since,
    param,
    start_of,
    tier_value,
)
from doudi.policy.resolved import MissingParameter

KEY = "dibao"
CAUSE_LABEL = {"transfer": "转移性收入", "compensation": "赔偿收入", "other": "其他原因"}


@dataclass(frozen=True)
class DibaoParams(Params):
    """Parameters of 低保."""

    method: str = param("dibao.benefit.method", "str")
    tiers: list[dict[str, Any]] | None = param("dibao.benefit.tiers", "list", optional=True)
    inc_elderly: float = param("dibao.increment.elderly", "number")
    inc_minor: float = param("dibao.increment.minor", "number")
    inc_severe: float = param("dibao.increment.severe_disability", "number")
    inc_ill: float = param("dibao.increment.serious_illness", "number")
    inc_combine: str = param("dibao.increment.combine", "str")
    rigid_share: float = param("dibao.income.rigid_expense_deduction_share", "number")
    expense_window_months: int = param("rigid_expenses.window_months", "int")
    single_person: bool | None = param("dibao.single_person.enabled", "bool", optional=True)
    single_disability: dict[str, int] | None = param("dibao.single_person.disability_max_grade", "dict",
                                                     optional=True)
    jobless_severe: bool | None = param("dibao.single_person.jobless_severe_disabled", "bool", optional=True)
    max_refusals: int = param("dibao.work_refusal.max_refusals", "int")
    own_share_cut: float = param("dibao.work_refusal.own_share_cut", "number")
    gradual_exit_months: int | None = param("dibao.gradual_exit.months", "int", optional=True)
    former_poor_months: int | None = param("dibao.former_poor_extension.months", "int", optional=True)
    exit_suspended: bool | None = param("dibao.exit_suspended", "bool", optional=True)
    stable_months: int = param("dibao.review.stable_months", "int")
    unstable_months: int = param("dibao.review.unstable_months", "int")
    adult_age: int = param("age.adult", "int")
    sp_from: date | None = start_of("dibao.single_person.enabled")


CODES = Codes(KEY, [
    Reason("members_counted", "共同生活家庭成员 {size} 人（不计入：{excluded}）", ("dibao.members",)),
    Reason("income_below_standard", "家庭人均计算收入 {per_capita_income} 元/月，低于低保标准 {standard} 元/月",
           ("dibao.income", "dibao.amount")),
    Reason("income_above_standard", "家庭人均计算收入 {per_capita_income} 元/月，不低于低保标准 {standard} 元/月",
           ("dibao.income",)),
    Reason("employment_cost_deducted", "工资性收入已扣减就业成本 {employment_deduction} 元/月", ("dibao.income",)),
    Reason("uncounted_income", "基础养老金等 {uncounted_income} 元/月不计入家庭收入", ("dibao.income",)),
    Reason("rigid_expense_deducted", "因残疾、重病增加的刚性支出扣减 {rigid_deduction} 元/月", ("dibao.income",)),
    Reason("property_ok", "家庭财产符合规定", ("dibao.property",)),
    Reason("financial_assets_exceed", "金融资产 {financial_assets} 元超过限额 {financial_limit} 元",
           ("dibao.property",)),
    Reason("housing_exceeds", "住房 {residential_properties} 套，超过 {max_residential} 套", ("dibao.property",)),
    Reason("non_residential_property", "非住宅类不动产 {non_residential_properties} 套，超过 {max_non_residential} 套",
           ("dibao.property",)),
    Reason("vehicle_owned", "机动车辆 {vehicles} 辆，超过 {max_vehicles} 辆", ("dibao.property",)),
    Reason("business_registered", "市场主体登记 {business_registrations} 个，超过 {max_business_registrations} 个",
           ("dibao.property",)),
    Reason("gap_amount", "补差：({standard} − {per_capita_income}) × {size} 人 = {base_amount} 元/月",
           ("dibao.amount",)),
    Reason("tiered_amount", "分档：人均差额占标准 {gap_share}，按档发放 {base_amount} 元/月", ("dibao.amount",)),
    Reason("classified_increment", "分类施保增发 {increment} 元/月（老年人、未成年人、重度残疾人、重病患者）",
           ("dibao.increment",)),
    Reason("work_refusal_cut", "{refusers} 人连续 {max_refusals} 次拒绝介绍的工作，减发其本人份额 {refusal_cut} 元/月",
           ("dibao.work_refusal",)),
    Reason("all_extreme_poverty", "成员均已纳入特困人员救助供养，不重复纳入低保", ("extreme_poverty.criteria",)),
    Reason("extreme_poverty_members_out", "{ep_members} 名特困人员单独供养，不计入低保家庭",
           ("extreme_poverty.criteria",)),
    Reason("single_person", "{single_members} 名成员按单人户纳入低保（{single_amount} 元/月）",
           ("dibao.single_person",)),
    Reason("gradual_exit",
           "就业后人均收入超过标准，处于渐退期（第 {exit_month} 个月，共 {exit_months} 个月），保障金照发",
           ("dibao.gradual_exit",)),
    Reason("gradual_exit_over", "渐退期（{exit_months} 个月）已满", ("dibao.gradual_exit",)),
    Reason("no_gradual_exit_cause", "收入增加的原因是{rise_cause}，不是就业：不适用渐退期，不再符合低保",
           ("dibao.gradual_exit",)),
    Reason("rise_cause_unrecorded", "收入增加的原因未登记，不能确认是否因就业增加：暂不给予渐退期，请登记后复核",
           ("dibao.gradual_exit",)),
    Reason("exit_start_unrecorded", "收入超过标准的起始日期未登记，按评估当月为第 1 个月计", ("dibao.gradual_exit",)),
    Reason("former_poor_extension",
           "原建档立卡贫困户不再符合低保条件，延期保障（第 {exit_month} 个月，"
           "共 {former_poor_months} 个月），保障金照发",
           ("dibao.former_poor_extension",)),
    Reason("former_poor_extension_over", "原建档立卡贫困户延期保障（{former_poor_months} 个月）已满",
           ("dibao.former_poor_extension",)),
    Reason("exit_suspended", "当地暂停低保退出（疫情期间），保障金照发", ("dibao.exit_suspended",)),
    Reason("review_yearly", "家庭经济状况较稳定，每 {review_months} 个月核查一次", ("dibao.review",)),
    Reason("review_half_yearly", "有劳动能力成员、收入来源不固定，每 {review_months} 个月核查一次", ("dibao.review",)),
    Reason("no_members", "没有计入的共同生活家庭成员", ("dibao.members",)),
    # Per member: the 单人户 of 审核确认办法 Art. 8 and 2022 通知 一（一）.
    Reason("sp_included", "按单人户纳入低保：本人收入 {own_income} 元/月低于标准 {standard} 元/月，"
           "{sp_amount} 元/月（{sp_basis}）", ("dibao.single_person",)),
    Reason("sp_not_marginal", "单人户：家庭不属于低保边缘家庭（人均 {per_capita_income} 元/月，边缘线 {marginal_line} "
           "元/月，或财产不符合规定），不能依第八条单独申请", ("dibao.single_person",)),
    Reason("sp_own_income", "单人户：本人收入 {own_income} 元/月不低于低保标准 {standard} 元/月",
           ("dibao.single_person",)),
    Reason("sp_not_adult", "单人户：{age} 周岁，未满 {adult_age} 周岁，不属于成年无业重度残疾人",
           ("dibao.single_person",)),
    Reason("sp_not_jobless", "单人户：有工资或经营收入，不属于无业重度残疾人", ("dibao.single_person",)),
    Reason("sp_not_severe", "单人户：残疾等级不属于重度（一、二级），不适用成年无业重度残疾人参照单人户",
           ("dibao.single_person",)),
    Reason("sp_property", "单人户：财产不符合规定", ("dibao.single_person",)),
    Reason("sp_not_in_force", "单人户：评估日期早于单人户规定施行日期（{sp_from}）", ()),
])


def _persons(m: pl.DataFrame, q: DibaoParams, on: date) -> pl.DataFrame:
    """Per-member 分类施保 increment (share of the standard) and refusal of work."""
    del on
    shares = [(pl.col("elderly"), q.inc_elderly), (pl.col("minor"), q.inc_minor), (pl.col("severe"), q.inc_severe),
              (pl.col("serious_illness"), q.inc_ill)]
    terms = [pl.when(cond).then(pl.lit(share)).otherwise(pl.lit(0.0)) for cond, share in shares]
    combined = pl.sum_horizontal(terms) if q.inc_combine == "sum" else pl.max_horizontal(terms)
    return m.with_columns(db_increment=money(combined * pl.col("std")),
                          db_refuser=pl.col("refused_job_offers") >= q.max_refusals)


def _unit_sums(q: Any) -> dict[str, tuple[pl.Expr, str]]:
    del q
    """Household sums over the 低保 unit (counted members who are not 特困 persons)."""
    unit = pl.col("counted") & ~pl.col("ep_eligible")

    def within(expr: pl.Expr, cond: pl.Expr = unit) -> pl.Expr:
        return pl.when(cond).then(expr).otherwise(0.0)

    return {
        "n": (unit, "sum"),
        "income_total": (within(pl.col("income_counted")), "sum"),
        "employment_deduction": (within(pl.col("wage") - pl.col("wage_counted"), unit & pl.col("employed")), "sum"),
        "uncounted_income": (within(pl.col("basic_pension")), "sum"),
        "increment_total": (within(pl.col("db_increment")), "sum"),
        "refuser_increment": (within(pl.col("db_increment"), unit & pl.col("db_refuser")), "sum"),
        "refusers": (unit & pl.col("db_refuser"), "sum"),
        "n_labour": (unit & pl.col("labour_capable") & pl.col("working_age"), "sum"),
        "ep_members": (pl.col("counted") & pl.col("ep_eligible"), "sum"),
    }


def _unit(h: pl.DataFrame, q: DibaoParams, on: date) -> pl.DataFrame:
    """The main 低保 decision on the household unit, and the exit rules for current recipients."""
    rigid = q.rigid_share * (pl.col("exp_medical") + pl.col("exp_rehabilitation")) / q.expense_window_months
    n = pl.col("n")
    h = h.with_columns(rigid_deduction=money(pl.when(n > 0).then(rigid).otherwise(0.0))).with_columns(
        counted_income=pl.max_horizontal(pl.col("income_total") - pl.col("rigid_deduction"), pl.lit(0.0)),
    ).with_columns(
        # Decisions compare the exact per-capita income; the rounded one is for display.
        pc_exact=pl.when(n > 0).then(pl.col("counted_income") / n).otherwise(None),
    ).with_columns(
        per_capita_income=money(pl.col("pc_exact")),
        db_main=(n > 0) & (pl.col("pc_exact") < pl.col("std")) & pl.col("prop_ok"),
        gap_share=((pl.col("std") - pl.col("pc_exact")) / pl.col("std")).round(4),
    )
    if q.method == "tiered":
        if not q.tiers:
            raise MissingParameter("dibao.benefit.method 为 tiered，但参数 dibao.benefit.tiers 没有有效值")
        tiers = sorted(q.tiers, key=lambda t: -float(t["min_gap_share"]))
        base = tier_value(pl.col("gap_share"), tiers, bound="min_gap_share", out="amount_share",
                          ascending=False) * pl.col("std") * n
    else:
        # Art. 23 补差 on the unrounded income: standard × size − counted income.
        base = pl.col("std") * n - pl.col("counted_income")
    h = h.with_columns(base_amount=money(pl.when(pl.col("db_main")).then(base).otherwise(0.0))).with_columns(
        increment=pl.when(pl.col("db_main")).then(pl.col("increment_total")).otherwise(0.0),
        refusal_cut=money(pl.when(pl.col("db_main") & (pl.col("refusers") > 0)).then(
            q.own_share_cut * (pl.col("base_amount") / n * pl.col("refusers") + pl.col("refuser_increment")))
            .otherwise(0.0)),
    ).with_columns(
        db_main_amount=money(pl.max_horizontal(pl.col("base_amount") + pl.col("increment") - pl.col("refusal_cut"),
                                               pl.lit(0.0))),
    )
    return _exit(h, q, on)


def _exit(h: pl.DataFrame, q: DibaoParams, on: date) -> pl.DataFrame:
    """A current recipient who no longer qualifies: 渐退 (after employment only), the extension of former
    建档立卡 households, or a suspension of exits (all dated pack data)."""
    leaving = pl.col("receiving_dibao") & ~pl.col("db_main") & (pl.col("n") > 0)
    elapsed = months_since(pl.col("above_standard_since"), on)
    cause = pl.col("income_rise_cause")
    income_rose = leaving & (pl.col("pc_exact") >= pl.col("std")) & pl.col("prop_ok")
    gradual_in_force = q.gradual_exit_months is not None
    gradual = (income_rose & (cause == "employment")).fill_null(False) if gradual_in_force else pl.lit(False)
    months = q.gradual_exit_months or 0
    former = (leaving & pl.col("former_registered_poor")) if q.former_poor_months is not None else pl.lit(False)
    fmonths = q.former_poor_months or 0
    h = h.with_columns(
        exit_month=elapsed + 1,
        exit_months=pl.lit(months if gradual_in_force else None, pl.Int32),
        db_gradual=gradual & (elapsed < months),
        db_gradual_over=gradual & (elapsed >= months),
        db_former=former & (elapsed < fmonths),
        db_former_over=former & (elapsed >= fmonths),
        db_suspended=leaving & pl.lit(bool(q.exit_suspended)),
        db_no_cause=(income_rose & cause.is_in(list(CAUSE_LABEL))).fill_null(False) & pl.lit(gradual_in_force),
        db_cause_unrecorded=income_rose & cause.is_null() & pl.lit(gradual_in_force),
        db_start_unrecorded=leaving & pl.col("above_standard_since").is_null(),
    )
    h = h.with_columns(db_exit=pl.col("db_gradual") | pl.col("db_former") | pl.col("db_suspended"))
    n = pl.col("n")
    return h.with_columns(
        db_person_amount=money(pl.when(pl.col("db_main") & (n > 0)).then(pl.col("db_main_amount") / n)
                               .when(pl.col("db_exit") & (n > 0)).then(pl.col("dibao_current_amount").fill_null(0) / n)
                               .otherwise(0.0)),
        review_months=pl.when(pl.col("n_labour") > 0).then(q.unstable_months).otherwise(q.stable_months)
        .cast(pl.Int32),
    )


def _members(m: pl.DataFrame, q: DibaoParams, on: date) -> pl.DataFrame:
    """Who is in 低保 and with what share; 单人户 (Art. 8; 2022 通知 一（一）) with the reason of every refusal."""
    del on
    a_in_force, b_in_force = bool(q.single_person), bool(q.jobless_severe)
    cand_a = (disability_within(q.single_disability) if q.single_disability else pl.col("severe")) \
        | pl.col("serious_illness")
    m = m.with_columns(
        sp_unit=pl.col("counted") & ~pl.col("ep_eligible") & ~pl.col("h_db_main") & ~pl.col("h_db_exit"),
        sp_below=pl.col("income_counted") < pl.col("std"),
        sp_cand_a=cand_a,
    ).with_columns(
        sp_path_a=(pl.col("h_marginal_test") & pl.col("sp_cand_a") & pl.col("sp_below")) if a_in_force
        else pl.lit(False),
        sp_path_b=(pl.col("adult") & pl.col("jobless") & pl.col("severe") & pl.col("sp_below") & pl.col("prop_ok"))
        if b_in_force else pl.lit(False),
        sp_asked=pl.col("sp_unit") & (pl.col("sp_cand_a") | pl.col("severe")) & pl.col("exclusion").is_null(),
    ).with_columns(db_single=(pl.col("sp_unit") & (pl.col("sp_path_a") | pl.col("sp_path_b"))).fill_null(False))
    m = m.with_columns(
        db_single_amount=money(pl.when(pl.col("db_single")).then(
            pl.col("std") - pl.col("income_counted") + pl.col("db_increment")).otherwise(0.0)),
        db_included=(pl.col("counted") & ~pl.col("ep_eligible") & (pl.col("h_db_main") | pl.col("h_db_exit")))
        | pl.col("db_single"),
        sp_refused=pl.col("sp_asked") & ~pl.col("db_single"),
    ).with_columns(
        db_person_amount=pl.when(pl.col("ep_eligible")).then(pl.col("ep_amount"))
        .when(pl.col("db_single")).then(pl.col("db_single_amount"))
        .when(pl.col("db_included")).then(pl.col("h_db_person_amount")).otherwise(0.0),
        sp_b_asked=pl.col("sp_refused") & pl.lit(b_in_force) & ~pl.col("sp_path_a"),
    )
    return m


def _member_reason_parts(q: DibaoParams) -> tuple[Pairs, pl.Expr, Pairs]:
    """The 单人户 reasons, on the members who could ask for it only."""
    a_in_force, b_in_force = bool(q.single_person), bool(q.jobless_severe)
    refused, b_asked, severe = pl.col("sp_refused"), pl.col("sp_b_asked"), pl.col("severe")
    return [], pl.col("sp_asked") | pl.col("db_single"), [
        (pl.col("db_single"), "sp_included"),
        (refused & pl.lit(a_in_force) & pl.col("sp_cand_a") & ~pl.col("h_marginal_test"), "sp_not_marginal"),
        (refused & pl.lit(a_in_force or b_in_force) & ~pl.col("sp_below"), "sp_own_income"),
        (b_asked & ~pl.col("adult") & severe, "sp_not_adult"),
        (b_asked & ~pl.col("jobless") & severe, "sp_not_jobless"),
        (b_asked & ~severe, "sp_not_severe"),
        (b_asked & severe & ~pl.col("prop_ok"), "sp_property"),
        (pl.col("sp_asked") & pl.lit(not a_in_force and not b_in_force), "sp_not_in_force"),
    ]


def _household(h: pl.DataFrame, q: DibaoParams, on: date) -> pl.DataFrame:
    """Final household decision and its reasons."""
    del on
    exit_amount = pl.when(pl.col("db_exit")).then(pl.col("dibao_current_amount").fill_null(0.0)).otherwise(0.0)
    h = h.with_columns(
        dibao_eligible=pl.col("db_main") | pl.col("db_exit") | (pl.col("single_members") > 0),
        dibao_amount=money(pl.col("db_main_amount") + exit_amount + pl.col("single_amount")),
        dibao_level=pl.when(pl.col("db_main")).then(pl.lit(q.method))
        .when(pl.col("db_gradual")).then(pl.lit("gradual_exit"))
        .when(pl.col("db_former")).then(pl.lit("former_poor_extension"))
        .when(pl.col("db_suspended")).then(pl.lit("exit_suspended"))
        .when(pl.col("single_members") > 0).then(pl.lit("single_person")),
        dibao_persons=pl.when(pl.col("db_main") | pl.col("db_exit")).then(pl.col("n"))
        .otherwise(pl.col("single_members")).cast(pl.Int32),
        dibao_in_force=pl.lit(True),
        # The household as a whole is a 低保 household (not only a member included as a single person).
        dibao_household=pl.col("db_main") | pl.col("db_exit"),
    )
    tiered = q.method == "tiered"
    has = pl.col("n") > 0
    eligible = pl.col("dibao_eligible")
    return h.with_columns(dibao_reasons=CODES.mask([
        (has, "members_counted"),
        (has & (pl.col("pc_exact") < pl.col("std")), "income_below_standard"),
        (has & (pl.col("pc_exact") >= pl.col("std")), "income_above_standard"),
        (pl.col("employment_deduction") > 0, "employment_cost_deducted"),
        (pl.col("uncounted_income") > 0, "uncounted_income"),
        (pl.col("rigid_deduction") > 0, "rigid_expense_deducted"),
        (pl.col("prop_ok"), "property_ok"),
        (~pl.col("financial_ok"), "financial_assets_exceed"),
        (~pl.col("residential_ok"), "housing_exceeds"),
        (~pl.col("non_residential_ok"), "non_residential_property"),
        (~pl.col("vehicles_ok"), "vehicle_owned"),
        (~pl.col("business_ok"), "business_registered"),
        (pl.col("db_main") & pl.lit(not tiered), "gap_amount"),
        (pl.col("db_main") & pl.lit(tiered), "tiered_amount"),
        (pl.col("increment") > 0, "classified_increment"),
        (pl.col("refusal_cut") > 0, "work_refusal_cut"),
        (~has & (pl.col("ep_members") > 0), "all_extreme_poverty"),
        (has & (pl.col("ep_members") > 0), "extreme_poverty_members_out"),
        (pl.col("single_members") > 0, "single_person"),
        (pl.col("db_gradual"), "gradual_exit"),
        (pl.col("db_gradual_over") & ~pl.col("db_former") & ~pl.col("db_suspended"), "gradual_exit_over"),
        (pl.col("db_no_cause"), "no_gradual_exit_cause"),
        (pl.col("db_cause_unrecorded"), "rise_cause_unrecorded"),
        (pl.col("db_start_unrecorded") & (pl.col("db_gradual") | pl.col("db_former")), "exit_start_unrecorded"),
        (pl.col("db_former") & ~pl.col("db_gradual"), "former_poor_extension"),
        (pl.col("db_former_over") & ~pl.col("db_gradual") & ~pl.col("db_suspended"), "former_poor_extension_over"),
        (pl.col("db_suspended") & ~pl.col("db_gradual") & ~pl.col("db_former"), "exit_suspended"),
        (eligible & (pl.col("review_months") == q.stable_months), "review_yearly"),
        (eligible & (pl.col("review_months") != q.stable_months), "review_half_yearly"),
        (~has & (pl.col("ep_members") == 0), "no_members"),
    ]))


def _person_sums(q: Any) -> dict[str, tuple[pl.Expr, str]]:
    del q
    return {"single_members": (pl.col("db_single"), "sum"), "single_amount": (pl.col("db_single_amount"), "sum")}


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: DibaoParams, on: date) -> dict[str, Any]:
    del on
    excluded = "、".join(f"成员{m['member_idx'] + 1}" for m in ms if not m["counted"]) or "无"
    leaving = bool(h["receiving_dibao"])
    return {"size": h["n"], "excluded": excluded, "counted_income": h["counted_income"],
            "per_capita_income": h["per_capita_income"], "standard": h["std"],
            "employment_deduction": h["employment_deduction"], "uncounted_income": h["uncounted_income"],
            "rigid_deduction": h["rigid_deduction"], "financial_assets": h["financial_assets"],
            "financial_limit": h["fin_limit"], "residential_properties": h["residential_properties"],
            "non_residential_properties": h["non_residential_properties"], "vehicles": h["vehicles"],
            "business_registrations": h["business_registrations"], "property_ok": h["prop_ok"],
            "method": q.method, "gap_share": h["gap_share"], "base_amount": h["base_amount"],
            "increment": h["increment"], "refusers": h["refusers"], "max_refusals": q.max_refusals,
            "refusal_cut": h["refusal_cut"], "ep_members": h["ep_members"], "single_members": h["single_members"],
            "single_amount": h["single_amount"],
            "exit_month": h["exit_month"] if leaving else None, "exit_months": h["exit_months"] if leaving else None,
            "former_poor_months": q.former_poor_months if leaving else None,
            "rise_cause": CAUSE_LABEL.get(h["income_rise_cause"] or "", h["income_rise_cause"]),
            "review_months": h["review_months"], "marginal_line": h["marginal_line"]}


def _member_context(m: Mapping[str, Any], q: DibaoParams, ms: list[dict[str, Any]]) -> dict[str, Any]:
    del ms
    basis = "重残、重病成员，低保边缘家庭" if m["h_marginal_test"] else "成年无业重度残疾人"
    return {"own_income": m["income_counted"], "standard": m["std"], "sp_amount": m["db_single_amount"],
            "sp_basis": basis, "age": m["age"], "adult_age": q.adult_age, "sp_from": q.sp_from}


def _details(h: Mapping[str, Any], q: DibaoParams, on: date) -> dict[str, Any]:
    del q, on
    return {"review_interval_months": int(h["review_months"]) if h["dibao_eligible"] else None}


PROGRAM = Program(
    key=KEY, label="最低生活保障", order=10, codes=CODES, params=DibaoParams,
    refs=("dibao.members", "dibao.income", "dibao.property", "dibao.amount"),
    stages={"persons": _persons, "unit": _unit,
            "members": (_members, SparseMask(CODES, "db_reasons", _member_reason_parts)), "household": _household},
    trace=_trace,
    member_output=MemberOutput(
        eligible="db_included", amount="db_person_amount", reasons="db_reasons",
        level=lambda: pl.when(pl.col("db_single")).then(pl.lit("single_person")).otherwise(pl.lit("household"))),
    member_context=_member_context,
    member_details=lambda m, q: {"level": "single_person" if m["db_single"] else (
        "household" if m["db_included"] else None)},
    details=_details,
    unit_sums=_unit_sums,
    to_members={"h_db_main": "db_main", "h_db_exit": "db_exit", "h_pc_exact": "pc_exact",
                "h_db_person_amount": "db_person_amount"},
    person_sums=_person_sums,
)
