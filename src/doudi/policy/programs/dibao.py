"""最低生活保障 (低保): household members, counted income, property, 补差 or tiered amounts,
分类施保 increments, single-person inclusion, refusal of work, gradual exit and review interval.

最低生活保障审核确认办法 Art. 7 (members), 8 (single-person application), 13 (income), 14 (property),
23 (amount), 27 (分类施保), 31 (reviews), 33–34; 社会救助暂行办法 Art. 12; 2022 通知 一（一）（三）.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from doudi.policy.programs.base import Codes, Reason, money, months_since, tier_value

KEY = "dibao"
LABEL = "最低生活保障"
A7 = "最低生活保障审核确认办法 第七条"
A8 = "最低生活保障审核确认办法 第八条"
A13 = "最低生活保障审核确认办法 第十三条"
A14 = "最低生活保障审核确认办法 第十四条"
A23 = "最低生活保障审核确认办法 第二十三条"
A27 = "最低生活保障审核确认办法 第二十七条"
A31 = "最低生活保障审核确认办法 第三十一条"
A34 = "最低生活保障审核确认办法 第三十四条"
N2022 = "关于进一步做好最低生活保障等社会救助兜底工作的通知"
REFS = (A7, A13, A14, A23, "社会救助暂行办法 第十二条")

CODES = Codes(KEY, [
    Reason("members_counted", "共同生活家庭成员 {size} 人（不计入：{excluded}）", (A7,)),
    Reason("income_below_standard",
           "家庭人均计算收入 {per_capita_income} 元/月，低于低保标准 {standard} 元/月",
           (A13, A23)),
    Reason("income_above_standard",
           "家庭人均计算收入 {per_capita_income} 元/月，不低于低保标准 {standard} 元/月",
           (A13,)),
    Reason("employment_cost_deducted", "工资性收入已扣减就业成本 {employment_deduction} 元/月", (A13,)),
    Reason("uncounted_income", "基础养老金等 {uncounted_income} 元/月不计入家庭收入", (A13,)),
    Reason("rigid_expense_deducted", "因残疾、重病增加的刚性支出扣减 {rigid_deduction} 元/月", (A13,)),
    Reason("property_ok", "家庭财产符合规定", (A14,)),
    Reason("financial_assets_exceed", "金融资产 {financial_assets} 元超过限额 {financial_limit} 元", (A14,)),
    Reason("housing_exceeds", "住房套数超过规定", (A14,)),
    Reason("non_residential_property", "拥有非住宅类不动产", (A14,)),
    Reason("vehicle_owned", "拥有机动车辆", (A14,)),
    Reason("business_registered", "有市场主体登记", (A14, "最低生活保障审核确认办法 第十七条")),
    Reason("gap_amount",
           "补差：({standard} − {per_capita_income}) × {size} 人 = {base_amo"
           "unt} 元/月",
           (A23, "社会救助暂行办法 第十二条")),
    Reason("tiered_amount", "分档：人均差额占标准 {gap_share}，按档发放 {base_amount} 元/月", (A23,)),
    Reason("classified_increment", "分类施保增发 {increment} 元/月（老年人、未成年人、重度残疾人、重病患者）", (A27,)),
    Reason("work_refusal_cut",
           "{refusers} 人连续 {max_refusals} 次拒绝介绍的工作，减发其本人份额 {refusal_cut}"
           " 元/月",
           (A34, "社会救助暂行办法 第四十五条")),
    Reason("all_extreme_poverty",
           "成员均已纳入特困人员救助供养，不重复纳入低保",
           ("社会救助暂行办法 第十四条", "特困人员认定办法 第四条")),
    Reason("extreme_poverty_members_out",
           "{ep_members} 名特困人员单独供养，不计入低保家庭",
           ("特困人员认定办法 第四条",)),
    Reason("single_person",
           "{single_members} 名重残、重病成员按单人户纳入低保（{single_amount} 元/月）",
           (A8, f"{N2022} 一（一）（四）")),
    Reason("gradual_exit",
           "就业后人均收入超过标准，处于渐退期（第 {exit_month} 个月，共 {exit_months} 个月），保障金照"
           "发",
           (f"{N2022} 一（三）", "最低生活保障审核确认办法 第三十三条")),
    Reason("gradual_exit_over", "渐退期（{exit_months} 个月）已满", (f"{N2022} 一（三）",)),
    Reason("review_yearly", "家庭经济状况较稳定，每年核查一次", (A31,)),
    Reason("review_half_yearly", "有劳动能力成员、收入来源不固定，每半年核查一次", (A31,)),
    Reason("no_members", "没有计入的共同生活家庭成员", (A7,)),
])


def member_columns(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Per-member 分类施保 increment (share of the standard) and refusal of work."""
    shares = {
        "elderly": (pl.col("elderly"), float(p.get("dibao.increment.elderly", 0))),
        "minor": (pl.col("minor"), float(p.get("dibao.increment.minor", 0))),
        "severe": (pl.col("severe"), float(p.get("dibao.increment.severe_disability", 0))),
        "ill": (pl.col("serious_illness"), float(p.get("dibao.increment.serious_illness", 0))),
    }
    terms = [pl.when(cond).then(pl.lit(share)).otherwise(pl.lit(0.0)) for cond, share in shares.values()]
    summed = p.get("dibao.increment.combine", "max") == "sum"
    combined = pl.sum_horizontal(terms) if summed else pl.max_horizontal(terms)
    max_refusals = p.get("dibao.work_refusal.max_refusals")
    refuser = pl.col("refused_job_offers") >= int(max_refusals) if max_refusals else pl.lit(False)
    return m.with_columns(db_increment=money(combined * pl.col("std")), db_refuser=refuser)


def aggregations() -> dict[str, tuple[pl.Expr, str]]:
    """Household sums over the 低保 unit (counted members who are not 特困 persons): name → (member expr, how)."""
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
        "n_employed": (unit & pl.col("employed"), "sum"),
        "ep_members": (pl.col("counted") & pl.col("ep_eligible"), "sum"),
    }


def household(h: pl.DataFrame, p: Mapping[str, Any], on: Any) -> pl.DataFrame:
    """The main 低保 decision on the household unit (before single-person inclusion)."""
    share = float(p["dibao.income.rigid_expense_deduction_share"])
    rigid = share * (pl.col("exp_medical") + pl.col("exp_rehabilitation")) / 12.0
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
    if p["dibao.benefit.method"] == "tiered":
        tiers = sorted(p["dibao.benefit.tiers"], key=lambda t: -float(t["min_gap_share"]))
        per_person = tier_value(pl.col("gap_share"), tiers, bound="min_gap_share", out="amount_share",
                                ascending=False) * pl.col("std")
        base = per_person * n
    else:
        # Art. 23 补差 on the unrounded income: standard × size − counted income.
        base = pl.col("std") * n - pl.col("counted_income")
    cut_share = float(p.get("dibao.work_refusal.own_share_cut", 0) or 0)
    h = h.with_columns(base_amount=money(pl.when(pl.col("db_main")).then(base).otherwise(0.0))).with_columns(
        increment=pl.when(pl.col("db_main")).then(pl.col("increment_total")).otherwise(0.0),
        refusal_cut=money(pl.when(pl.col("db_main") & (pl.col("refusers") > 0)).then(
            cut_share * (pl.col("base_amount") / n * pl.col("refusers") + pl.col("refuser_increment")))
            .otherwise(0.0)),
    ).with_columns(
        db_main_amount=money(pl.max_horizontal(pl.col("base_amount") + pl.col("increment") - pl.col("refusal_cut"),
                                               pl.lit(0.0))),
    )
    # 渐退: a recipient household whose income rose above the standard through work keeps its benefit.
    exit_months = p.get("dibao.gradual_exit.months")
    extra = float(p.get("dibao.gradual_exit.extra_months_former_poor", 0) or 0)
    if exit_months:
        allowed = pl.lit(float(exit_months)) + pl.when(pl.col("former_registered_poor")).then(extra).otherwise(0.0)
        elapsed = months_since(pl.col("above_standard_since"), on)
        in_exit = (pl.col("receiving_dibao") & ~pl.col("db_main") & (n > 0) & (pl.col("n_employed") > 0)
                   & pl.col("prop_ok"))
        h = h.with_columns(exit_months=allowed, exit_month=elapsed + 1,
                           db_exit=in_exit & (elapsed < allowed), db_exit_over=in_exit & (elapsed >= allowed))
    else:
        h = h.with_columns(exit_months=pl.lit(None, pl.Float64), exit_month=pl.lit(None, pl.Int32),
                           db_exit=pl.lit(False), db_exit_over=pl.lit(False))
    stable, unstable = int(p["dibao.review.stable_months"]), int(p["dibao.review.unstable_months"])
    return h.with_columns(
        db_person_amount=money(pl.when(pl.col("db_main") & (n > 0)).then(pl.col("db_main_amount") / n)
                               .when(pl.col("db_exit") & (n > 0)).then(pl.col("dibao_current_amount").fill_null(0) / n)
                               .otherwise(0.0)),
        review_months=pl.when(pl.col("n_labour") > 0).then(unstable).otherwise(stable).cast(pl.Int32),
    )


def single_person(m: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Art. 8 / 2022 通知: severely disabled or seriously ill members included on their own."""
    unit = pl.col("counted") & ~pl.col("ep_eligible") & ~pl.col("h_db_main") & ~pl.col("h_db_exit")
    own_below = pl.col("income_counted") < pl.col("std")
    path_a = pl.lit(False)
    if p.get("dibao.single_person.enabled") and p.get("dibao_marginal.income_multiple"):
        path_a = pl.col("h_marginal_test") & (pl.col("severe") | pl.col("grade3_im") | pl.col("serious_illness"))
    path_b = pl.lit(False)
    if p.get("dibao.single_person.jobless_severe_disabled"):
        mult = float(p.get("dibao.single_person.household_income_multiple", 1.0))
        path_b = (~pl.col("minor") & pl.col("jobless") & pl.col("severe") & pl.col("h_prop_ok")
                  & (pl.col("h_pc_exact") < pl.col("std") * mult))
    sp = unit & own_below & (path_a | path_b)
    return m.with_columns(db_single=sp.fill_null(False)).with_columns(
        db_single_amount=money(pl.when(pl.col("db_single")).then(
            pl.col("std") - pl.col("income_counted") + pl.col("db_increment")).otherwise(0.0)),
    )


def reasons(h: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """The 低保 reason mask and final household fields."""
    tiered = p["dibao.benefit.method"] == "tiered"
    return h.with_columns(dibao_reasons=CODES.mask([
        (pl.col("n") > 0, "members_counted"),
        ((pl.col("n") > 0) & (pl.col("pc_exact") < pl.col("std")), "income_below_standard"),
        ((pl.col("n") > 0) & (pl.col("pc_exact") >= pl.col("std")), "income_above_standard"),
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
        ((pl.col("n") == 0) & (pl.col("ep_members") > 0), "all_extreme_poverty"),
        ((pl.col("n") > 0) & (pl.col("ep_members") > 0), "extreme_poverty_members_out"),
        (pl.col("single_members") > 0, "single_person"),
        (pl.col("db_exit"), "gradual_exit"),
        (pl.col("db_exit_over"), "gradual_exit_over"),
        (pl.col("dibao_eligible") & (pl.col("review_months") == int(p["dibao.review.stable_months"])), "review_yearly"),
        (pl.col("dibao_eligible") & (pl.col("review_months") != int(p["dibao.review.stable_months"])),
         "review_half_yearly"),
        ((pl.col("n") == 0) & (pl.col("ep_members") == 0), "no_members"),
    ]))
