"""Derived member and household columns every program shares: age, Art. 7 membership, labour
capacity, counted income, and the property test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import Params, age_on, disability_within, mapped, param

# Relation to the household head → a small integer role (the kinship table of programs/supporters.py).
ROLES = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "child_in_law")
ROLE_OF = {r: i for i, r in enumerate(ROLES)}


@dataclass(frozen=True)
class SharedParams(Params):
    """Parameters of the shared columns."""

    standard_urban: float = param("dibao.standard.urban", "number")
    standard_rural: float = param("dibao.standard.rural", "number")
    uncounted_relations: list[str] = param("dibao.household.uncounted_relations", "list")
    counted_kinds: list[str] = param("dibao.income.counted_kinds", "list")
    employment_cost_deduction: float = param("dibao.income.employment_cost_deduction", "number")
    impute_idle: bool = param("dibao.income.impute_idle_at_minimum_wage", "bool")
    minimum_wage: float | None = param("dibao.income.minimum_wage", "number", optional=True)
    working_age_from: int = param("dibao.income.working_age_from", "int")
    working_age_to: int = param("dibao.income.working_age_to", "int")
    financial_assets_months: float = param("dibao.property.financial_assets_months", "number")
    max_residential: int = param("dibao.property.max_residential", "int")
    max_non_residential: int = param("dibao.property.max_non_residential", "int")
    max_vehicles: int = param("dibao.property.max_vehicles", "int")
    max_business_registrations: int = param("dibao.property.max_business_registrations", "int")
    elderly_age: int = param("age.elderly", "int")
    minor_age: int = param("age.minor", "int")
    adult_age: int = param("age.adult", "int")
    severe_max_grade: int = param("disability.severe_max_grade", "int")
    no_labour_minor_age: int = param("extreme_poverty.no_labour.minor_age", "int")
    no_labour_disability: dict[str, int] = param("extreme_poverty.no_labour.disability_max_grade", "dict")


def members(mem: pl.DataFrame, q: SharedParams, on: date) -> pl.DataFrame:
    """Member columns that depend only on the member and the parameters."""
    age = age_on(pl.col("birth_date"), on)
    wage = pl.col("wage")
    deduction = q.employment_cost_deduction
    # 就业成本扣减: each employed member's wage is reduced by the local amount, never below zero.
    wage_counted = (wage - pl.min_horizontal(wage, pl.lit(deduction))) if deduction else wage
    df = mem.with_columns(
        age=age,
        counted=pl.col("exclusion").is_null() & ~pl.col("relation").is_in(q.uncounted_relations),
        severe=(pl.col("disability_grade") <= q.severe_max_grade).fill_null(False),
        disabled=pl.col("disability_grade").is_not_null(),
        no_labour_disability=disability_within(q.no_labour_disability),
        role=mapped(pl.col("relation"), ROLE_OF, -1, pl.Int8),
    ).with_columns(
        elderly=pl.col("age") >= q.elderly_age,
        minor=pl.col("age") < q.minor_age,
        adult=pl.col("age") >= q.adult_age,
        working_age=(pl.col("age") >= q.working_age_from) & (pl.col("age") < q.working_age_to),
    ).with_columns(
        # 特困人员认定办法 Art. 5: 无劳动能力 by age or by the disability table.
        no_labour=pl.col("elderly") | (pl.col("age") < q.no_labour_minor_age) | pl.col("no_labour_disability"),
    ).with_columns(
        labour_capable=~pl.col("no_labour") & ~pl.col("student") & ~pl.col("serious_illness"),
    )
    if q.impute_idle and q.minimum_wage is not None:
        # Guangdong: an able, working-age member idle without valid reason is counted at the minimum wage.
        idle = pl.col("idle_without_reason") & pl.col("working_age") & pl.col("labour_capable")
        wage_counted = pl.when(idle).then(pl.max_horizontal(wage_counted, pl.lit(q.minimum_wage))).otherwise(
            wage_counted)
    df = df.with_columns(wage_counted=wage_counted)
    counted_terms = [pl.col("wage_counted") if k == "wage" else pl.col(k) for k in q.counted_kinds]
    gross_terms = [pl.col(k) for k in q.counted_kinds]
    return df.with_columns(
        employed=wage > 0,
        income_counted=pl.sum_horizontal(counted_terms) if counted_terms else pl.lit(0.0),
        # Before the employment-cost deduction (刚性支出困难家庭认定办法 Art. 4 "家庭总收入").
        income_gross=pl.sum_horizontal(gross_terms) if gross_terms else pl.lit(0.0),
        jobless=(pl.col("wage") == 0) & (pl.col("business") == 0),
    )


def standard(q: SharedParams) -> pl.Expr:
    """The 低保 standard of the household's hukou type (yuan per person per month)."""
    return pl.when(pl.col("urban")).then(pl.lit(q.standard_urban)).otherwise(pl.lit(q.standard_rural))


def property_checks(q: SharedParams) -> dict[str, pl.Expr]:
    """Each property limit separately (for reasons and the trace)."""
    limit = q.financial_assets_months * q.standard_urban
    return {
        "financial_ok": pl.col("financial_assets") <= limit * pl.max_horizontal(pl.col("n_counted"), pl.lit(1)),
        "residential_ok": pl.col("residential_properties") <= q.max_residential,
        "non_residential_ok": pl.col("non_residential_properties") <= q.max_non_residential,
        "vehicles_ok": pl.col("vehicles") <= q.max_vehicles,
        "business_ok": pl.col("business_registrations") <= q.max_business_registrations,
    }


def households(hh: pl.DataFrame, q: SharedParams, on: date) -> pl.DataFrame:
    """Household columns before any program: standard and the property test (needs `n_counted`)."""
    del on
    checks = property_checks(q)
    return (
        hh.with_columns(pl.col("n_counted").cast(pl.Int32))
        .with_columns(std=standard(q), **checks)
        .with_columns(prop_ok=pl.all_horizontal(list(checks)))
        .with_columns(fin_limit=q.financial_assets_months * q.standard_urban
                      * pl.max_horizontal(pl.col("n_counted"), pl.lit(1)))
    )


def context(q: SharedParams) -> dict[str, Any]:
    """Shared values reason texts may name."""
    return {"elderly_age": q.elderly_age, "minor_age": q.minor_age, "adult_age": q.adult_age,
            "labour_min_age": q.no_labour_minor_age, "max_residential": q.max_residential,
            "max_non_residential": q.max_non_residential, "max_vehicles": q.max_vehicles,
            "max_business_registrations": q.max_business_registrations}
