"""Household income: the true per-capita level (log-normal body above the 低保 line plus a low-income
tail below it), its split over members and kinds, monthly amounts, and what the household declares."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.policy.params import load_pack

COUNTED_KINDS = ("wage", "business", "property", "transfer")  # 审核确认办法 Art. 13
EARNING = {
    "employed": ("wage", "tax_wage"),
    "unemployed": ("wage", "informal_wage"),
    "farming": ("business", "farming"),
    "retired": ("transfer", "retirement_pension"),
}


def months_back(ref: date, n: int) -> list[date]:
    """First days of the n months ending with the reference month, oldest first."""
    out = []
    y, m = ref.year, ref.month
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def counted_flags(persons: pl.DataFrame) -> pl.DataFrame:
    """`counted_true`: truly a counted member today; `counted_registry`: counted as the registry believes."""
    return persons.with_columns(
        counted_true=pl.col("true_death_date").is_null() & pl.col("member_exclusion").is_null() & ~pl.col("moved_out"),
        counted_registry=~pl.col("death_in_registry") & pl.col("member_exclusion").is_null(),
    )


def dibao_lines(params: dict[str, Any], hh: pl.DataFrame, ref: date) -> np.ndarray:
    """Each household's 低保 line: its county's standard for its hukou (urban or rural) in force on the reference
    date, taken from the policy pack the engine assesses against, so that the ground truth's "below the line"
    and the engine's test use one number. The synthetic parameters' `dibao_line` serves only a region whose
    pack has no standard."""
    table = params["dibao_line"]
    lines: dict[tuple[str, str], float] = {}
    for county in hh["village_code"].str.slice(0, 6).unique().to_list():
        pack = load_pack(county)
        for kind in ("urban", "rural"):
            value = pack.value(f"dibao.standard.{kind}", on=ref, default=None)
            lines[(county, kind)] = float(table[kind] if value is None else value)
    keys = hh.select(county=pl.col("village_code").str.slice(0, 6),
                     kind=pl.when(pl.col("hukou_type") == "urban").then(pl.lit("urban")).otherwise(pl.lit("rural")))
    return np.array([lines[(c, k)] for c, k in keys.iter_rows()], dtype=float)


def household_levels(
    params: dict[str, Any], hh: pl.DataFrame, persons: pl.DataFrame, rng: np.random.Generator, ref: date
) -> pl.DataFrame:
    """Per household: the 低保 line, whether it lies in the low-income tail, and its per-capita target."""
    inc = params["income"]
    earners = list(inc["earner_weight"])
    agg = (
        persons.filter("counted_true")
        .group_by("hh")
        .agg(
            size_true=pl.len(),
            elderly_only=(pl.col("age") >= 60).all(),
            severe=(pl.col("disability_grade") <= 2).any(),
            ill=pl.col("serious_illness").any(),
            earners=pl.col("employment").is_in(earners).sum(),
        )
    )
    frame = (
        hh.select("hh", "hukou_type", "template")
        .join(agg, on="hh", how="left", maintain_order="left")
        .with_columns(
            pl.col("size_true").fill_null(0),
            pl.col("earners").fill_null(0),
            pl.col("elderly_only").fill_null(False),
            pl.col("severe").fill_null(False),
            pl.col("ill").fill_null(False),
        )
        .sort("hh")
    )
    rr_t = inc["tail_relative_risk"]
    rr = (
        np.where(frame["elderly_only"].to_numpy(), rr_t["elderly_only"], 1.0)
        * np.where(frame["severe"].to_numpy(), rr_t["severe_disability"], 1.0)
        * np.where(frame["ill"].to_numpy(), rr_t["serious_illness"], 1.0)
        * np.where(frame["earners"].to_numpy() == 0, rr_t["no_earner"], 1.0)
        * np.where(frame["template"].str.starts_with("single_parent").to_numpy(), rr_t["single_parent"], 1.0)
    )
    urban = (frame["hukou_type"] == "urban").to_numpy()
    line = dibao_lines(params, hh.sort("hh"), ref)
    target = np.where(urban, float(inc["share_below_line"]["urban"]), float(inc["share_below_line"]["rural"]))
    p_tail = np.empty(len(rr))
    for grp in (urban, ~urban):
        if grp.any():
            p_tail[grp] = np.clip(target[grp] * rr[grp] / rr[grp].mean(), 0, 0.9)
    n = len(rr)
    tail = rng.random(n) < p_tail
    a, b = inc["tail_beta"]
    tail_pc = line * rng.beta(a, b, size=n)
    median = np.where(urban, float(inc["median_pc_monthly"]["urban"]), float(inc["median_pc_monthly"]["rural"]))
    share_earning = frame["earners"].to_numpy() / np.maximum(frame["size_true"].to_numpy(), 1)
    mu = np.log(median) + 0.3 * (share_earning - share_earning.mean())
    body = np.exp(mu + float(inc["sigma"]) * rng.standard_normal(n))
    for _ in range(50):  # rejection sampling: the body lies above the line (the tail holds the mass below)
        low = body <= line * 1.02
        if not low.any():
            break
        body[low] = np.exp(mu[low] + float(inc["sigma"]) * rng.standard_normal(int(low.sum())))
    body = np.maximum(body, line * 1.02)
    pc = np.where(tail, tail_pc, body)
    return frame.with_columns(line=pl.Series(line), tail=pl.Series(tail), target_pc=pl.Series(pc))


def allocate(
    params: dict[str, Any],
    levels: pl.DataFrame,
    persons: pl.DataFrame,
    rental: pl.DataFrame,
    ref: date,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split each household's counted income over members and kinds; returns (persons, monthly income rows).

    Retirement pensions are drawn first (a pension level does not bend to a target); tail households hold
    no employee pensioners. Rent goes to households that let out a property (`rental`: hh, rent)."""
    inc = params["income"]
    tail_of = levels["tail"].to_numpy()
    tail_person = tail_of[persons["hh"].to_numpy()]
    persons = persons.with_columns(
        employment=pl.when(pl.Series(tail_person) & (pl.col("employment") == "retired"))
        .then(pl.lit("not_applicable"))
        .otherwise(pl.col("employment")),
    )
    n = persons.height
    rp = params["retirement_pension"]
    pension = float(rp["median"]) * np.exp(float(rp["sigma"]) * rng.standard_normal(n))
    weights = inc["earner_weight"]
    emp = persons["employment"].to_numpy()
    counted = persons["counted_true"].to_numpy()
    self_employed = persons["self_employed"].to_numpy()
    w = np.array([float(weights.get(e, 0.0)) for e in emp]) * counted
    w = np.where(emp == "retired", 0.0, w) * rng.gamma(2.0, 1.0, size=n)
    p = persons.select("hh", "pid").with_columns(
        w=pl.Series(w),
        pension=pl.Series(np.where((emp == "retired") & counted, pension, 0.0)),
    )
    hh_tot = levels.select("hh", total=pl.col("target_pc") * pl.col("size_true")).join(
        rental, on="hh", how="left", maintain_order="left"
    )
    hh_tot = hh_tot.with_columns(rent=pl.min_horizontal(pl.col("rent").fill_null(0.0), pl.col("total") * 0.3))
    p = (
        p.join(hh_tot, on="hh", how="left", maintain_order="left")
        .with_columns(
            wsum=pl.col("w").sum().over("hh"),
            psum=pl.col("pension").sum().over("hh"),
        )
        .with_columns(rest=pl.max_horizontal(pl.col("total") - pl.col("rent") - pl.col("psum"), pl.lit(0.0)))
    )
    p = p.with_columns(
        earned=pl.when(pl.col("wsum") > 0).then(pl.col("rest") * pl.col("w") / pl.col("wsum")).otherwise(0.0)
    )
    kind = np.where(self_employed, "business", "wage")
    channel = np.where(self_employed, "business_registered", "informal_wage")
    for key, (k, ch) in EARNING.items():
        kind = np.where(emp == key, k, kind)
        channel = np.where(emp == key, ch, channel)
    base = pl.DataFrame(
        {
            "pid": p["pid"],
            "hh": p["hh"],
            "kind": kind,
            "channel": channel,
            "amount": np.where(emp == "retired", p["pension"].to_numpy(), p["earned"].to_numpy()),
        }
    )
    base = base.filter(pl.col("amount") > 0)
    # Households without earners live on support from relatives outside the household (counted transfer).
    heads = persons.filter(pl.col("counted_true")).sort("hh", "slot").group_by("hh", maintain_order=True).first()
    support = p.group_by("hh").agg(pl.col("rest").first(), pl.col("wsum").first(), pl.col("rent").first())
    support = support.join(heads.select("hh", "pid"), on="hh", how="inner", maintain_order="left")
    extra = pl.concat(
        [
            support.filter((pl.col("wsum") <= 0) & (pl.col("rest") > 0)).select(
                "pid", "hh", kind=pl.lit("transfer"), channel=pl.lit("family_support"), amount=pl.col("rest")
            ),
            support.filter(pl.col("rent") > 0).select(
                "pid", "hh", kind=pl.lit("property"), channel=pl.lit("rent"), amount=pl.col("rent")
            ),
        ]
    )
    age = persons["age"].to_numpy()
    alive = persons["true_death_date"].is_null().to_numpy()
    nc = params["non_counted_income"]
    not_counted = pl.concat(
        [
            persons.filter(pl.Series((age >= 60) & alive & (emp != "retired"))).select(
                "pid",
                "hh",
                kind=pl.lit("basic_pension"),
                channel=pl.lit("basic_pension"),
                amount=pl.lit(float(nc["basic_pension"])),
            ),
            persons.filter(pl.Series((age >= 80) & alive)).select(
                "pid",
                "hh",
                kind=pl.lit("old_age_allowance"),
                channel=pl.lit("old_age_allowance"),
                amount=pl.lit(float(nc["old_age_allowance_80plus"])),
            ),
        ]
    )
    si = params["social_insurance"]
    benefit = persons.filter(pl.Series(~tail_person) & pl.col("unemployment_benefit") & pl.col("counted_true")).select(
        "pid",
        "hh",
        kind=pl.lit("transfer"),
        channel=pl.lit("unemployment_benefit"),
        amount=pl.lit(round(float(si["minimum_wage"]) * float(si["unemployment_benefit_ratio"]), 2)),
    )
    rows = pl.concat([base, extra, not_counted, benefit], how="vertical_relaxed")
    return persons, _monthly(params, rows, ref, rng)


def _monthly(params: dict[str, Any], rows: pl.DataFrame, ref: date, rng: np.random.Generator) -> pl.DataFrame:
    """Expand person-kind levels into monthly amounts with kind-specific variation (harvest months for farming)."""
    months = pl.DataFrame({"month": months_back(ref, params_months(params))})
    var = {k: float(v) for k, v in params["income"]["monthly_variation"].items()}
    steady = ["retirement_pension", "basic_pension", "old_age_allowance", "rent", "unemployment_benefit"]
    frame = rows.sort("pid", "kind", "channel").join(months, how="cross")
    shock = pl.Series(rng.standard_normal(frame.height))
    sd = (
        pl.when(pl.col("channel").is_in(steady))
        .then(0.0)
        .otherwise(pl.col("kind").replace_strict(var, default=0.0, return_dtype=pl.Float64))
    )
    season = (
        pl.when(pl.col("channel") != "farming")
        .then(1.0)
        .when(pl.col("month").dt.month().is_in([6, 10]))
        .then(1.6)
        .otherwise(0.88)
    )
    return frame.with_columns(
        amount=(pl.col("amount") * season * (1 + sd * shock)).clip(lower_bound=0).round(2),
    ).select("pid", "hh", "kind", "channel", "month", "amount")


def params_months(params: dict[str, Any]) -> int:
    """How many months of income are generated (set by the generator from params.yaml)."""
    return int(params.get("_income_months", 6))


def declare(
    params: dict[str, Any], income: pl.DataFrame, levels: pl.DataFrame, persons: pl.DataFrame, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What households declare: round figures, with some under-declaring wages or business income.

    Returns (declared monthly rows, per-household flags)."""
    ud = params["under_declaration"]
    n_hh = levels.height
    near = (levels["target_pc"] < 2 * levels["line"]).to_numpy()
    mult = np.where(near, float(ud["near_line_multiplier"]), 1.0)
    has = income.group_by("hh").agg(wage=(pl.col("kind") == "wage").any(), biz=(pl.col("kind") == "business").any())
    has_wage = np.zeros(n_hh, dtype=bool)
    has_biz = np.zeros(n_hh, dtype=bool)
    has_wage[has.filter("wage")["hh"].to_numpy()] = True
    has_biz[has.filter("biz")["hh"].to_numpy()] = True
    under_wage = has_wage & (rng.random(n_hh) < np.clip(float(ud["wage_household_rate"]) * mult, 0, 1))
    under_biz = has_biz & (rng.random(n_hh) < np.clip(float(ud["business_household_rate"]) * mult, 0, 1))
    lo, hi = ud["wage_declared_fraction"]
    frac = lo + (hi - lo) * rng.random(n_hh)
    hh_i = income["hh"].to_numpy()
    kinds = income["kind"].to_numpy()
    cut = ((kinds == "wage") & under_wage[hh_i]) | ((kinds == "business") & under_biz[hh_i])
    visible = persons.filter(pl.col("counted_registry") | pl.col("member_exclusion").is_not_null())["pid"]
    declared = income.with_columns(
        amount=(pl.col("amount") * pl.Series(np.where(cut, frac[hh_i], 1.0)) / 10).round(0) * 10,
    ).filter(pl.col("pid").is_in(visible.implode()) & (pl.col("amount") > 0))
    flags = pl.DataFrame(
        {"hh": np.arange(n_hh), "under_declared_wage": under_wage, "under_declared_business": under_biz}
    )
    return declared, flags
