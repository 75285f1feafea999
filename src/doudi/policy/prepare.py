"""Derived member and household columns every program shares: age, Art. 7 membership, labour
capacity, counted income, and the property test.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.programs.base import age_on, standard

SEVERE_GRADE = 2  # 重度残疾 = 一、二级 (国发〔2015〕52号; 审核确认办法 Art. 8 "一级、二级重度残疾人")


def no_labour_by_disability(p: Mapping[str, Any]) -> pl.Expr:
    """特困认定办法 Art. 5 (3): disability categories and grades that mean no labour capacity."""
    grade = pl.col("disability_grade")
    terms = [(pl.col("disability_category") == cat) & (grade <= int(max_grade))
             for cat, max_grade in p["extreme_poverty.no_labour.disability_max_grade"].items()]
    return pl.any_horizontal(terms).fill_null(False) if terms else pl.lit(False)


def members(mem: pl.DataFrame, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Member columns that depend only on the member and the parameters."""
    age = age_on(pl.col("birth_date"), on)
    kinds = list(p["dibao.income.counted_kinds"])
    deduction = float(p["dibao.income.employment_cost_deduction"])
    wage = pl.col("wage")
    # 就业成本扣减: each employed member's wage is reduced by the local amount, never below zero.
    wage_counted = (wage - pl.min_horizontal(wage, pl.lit(deduction))) if deduction else wage
    w_from, w_to = p.get("dibao.income.working_age_from", 16), p.get("dibao.income.working_age_to", 60)
    df = mem.with_columns(
        age=age,
        counted=pl.col("exclusion").is_null()
        & ~pl.col("relation").is_in(list(p["dibao.household.uncounted_relations"])),
        severe=(pl.col("disability_grade") <= SEVERE_GRADE).fill_null(False),
        grade3_im=((pl.col("disability_grade") == 3)
                   & pl.col("disability_category").is_in(["intellectual", "mental"])).fill_null(False),
        disabled=pl.col("disability_grade").is_not_null(),
        no_labour_disability=no_labour_by_disability(p),
    ).with_columns(
        elderly=pl.col("age") >= int(p["age.elderly"]),
        minor=pl.col("age") < int(p["age.minor"]),
        working_age=(pl.col("age") >= int(w_from)) & (pl.col("age") < int(w_to)),
    ).with_columns(
        no_labour=pl.col("elderly") | (pl.col("age") < int(p["age.labour_min"])) | pl.col("no_labour_disability"),
    ).with_columns(
        labour_capable=~pl.col("no_labour") & ~pl.col("student") & ~pl.col("serious_illness"),
    )
    if p.get("dibao.income.impute_idle_at_minimum_wage") and p.get("dibao.income.minimum_wage"):
        # Guangdong: an able, working-age member idle without valid reason is counted at the minimum wage.
        idle = pl.col("idle_without_reason") & pl.col("working_age") & pl.col("labour_capable")
        wage_counted = pl.when(idle).then(pl.max_horizontal(wage_counted, pl.lit(
            float(p["dibao.income.minimum_wage"])))).otherwise(wage_counted)
    df = df.with_columns(wage_counted=wage_counted)
    counted_terms = [pl.col("wage_counted") if k == "wage" else pl.col(k) for k in kinds]
    ep_terms = [pl.col(k) for k in p["extreme_poverty.income.counted_kinds"]]
    return df.with_columns(
        employed=wage > 0,
        income_counted=pl.sum_horizontal(counted_terms) if counted_terms else pl.lit(0.0),
        income_own_ep=pl.sum_horizontal(ep_terms) if ep_terms else pl.lit(0.0),
        jobless=(pl.col("wage") == 0) & (pl.col("business") == 0),
    )


def property_checks(p: Mapping[str, Any]) -> dict[str, pl.Expr]:
    """Each property limit separately (for reasons and the trace)."""
    limit = float(p["dibao.property.financial_assets_months"]) * float(p["dibao.standard.urban"])
    return {
        "financial_ok": pl.col("financial_assets") <= limit * pl.max_horizontal(pl.col("n_counted"), pl.lit(1)),
        "residential_ok": pl.col("residential_properties") <= int(p["dibao.property.max_residential"]),
        "non_residential_ok": pl.col("non_residential_properties") <= int(p["dibao.property.max_non_residential"]),
        "vehicles_ok": pl.col("vehicles") <= int(p["dibao.property.max_vehicles"]),
        "business_ok": pl.col("business_registrations") <= int(p["dibao.property.max_business_registrations"]),
    }


def households(hh: pl.DataFrame, p: Mapping[str, Any]) -> pl.DataFrame:
    """Household columns before any program: standard and the property test (needs `n_counted`)."""
    checks = property_checks(p)
    return (
        hh.with_columns(pl.col("n_counted").cast(pl.Int32))
        .with_columns(std=standard(p), **checks)
        .with_columns(prop_ok=pl.all_horizontal(list(checks)))
        .with_columns(fin_limit=float(p["dibao.property.financial_assets_months"]) * float(p["dibao.standard.urban"])
                      * pl.max_horizontal(pl.col("n_counted"), pl.lit(1)))
    )
