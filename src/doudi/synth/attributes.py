"""Personal circumstances: disability, serious illness, deaths, self-care, schooling, labour capacity,
employment, 审核确认办法 Art. 7 ¶2 exclusions, moves out of the county and children's status."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from doudi.synth.params import band_of, shares


def scaled_probability(age: np.ndarray, block: dict[str, Any], overall_key: str = "overall_rate") -> np.ndarray:
    """Age-graded probabilities whose population mean equals the block's overall rate."""
    bands = list(block["age_relative_risk"])
    rr = np.array([float(block["age_relative_risk"][b]) for b in bands])[band_of(age, bands)]
    out: np.ndarray = np.clip(float(block[overall_key]) * rr / rr.mean(), 0, 0.95)
    return out


def _categorical(rng: np.random.Generator, block: dict[Any, Any], n: int) -> np.ndarray:
    keys, p = shares(block)
    return np.array(keys)[rng.choice(len(keys), size=n, p=p)]


def nullable(values: np.ndarray) -> pl.Series:
    """A string Series with empty strings turned into nulls."""
    s = pl.Series(values.astype(str))
    return pl.select(pl.when(s != "").then(s)).to_series()


def _pick(rng: np.random.Generator, eligible: np.ndarray, count: int, weights: np.ndarray | None = None) -> np.ndarray:
    idx = np.flatnonzero(eligible)
    count = min(count, len(idx))
    if count == 0:
        return np.array([], dtype=np.int64)
    p = None
    if weights is not None:
        w = weights[idx].astype(np.float64)
        p = w / w.sum()
    return np.sort(rng.choice(idx, size=count, replace=False, p=p))


def add_health(params: dict[str, Any], persons: pl.DataFrame, ref: date, rng: np.random.Generator) -> pl.DataFrame:
    """Disability (category, grade), serious illness, deaths in the last year and self-care items."""
    age = persons["age"].to_numpy()
    n = len(age)
    dis = params["disability"]
    disabled = rng.random(n) < scaled_probability(age, dis)
    category = np.where(disabled, _categorical(rng, dis["categories"], n), "")
    grade_i = np.where(disabled, _categorical(rng, dis["grades"], n).astype(np.int64), 0)
    ill = rng.random(n) < scaled_probability(age, params["serious_illness"])

    mort = params["mortality"]
    risk = np.exp(float(mort["gompertz_slope"]) * age)
    p_death = np.clip(float(mort["annual_rate"]) * risk / risk.mean() * np.where(ill, 3.0, 1.0), 0, 0.6)
    dies = rng.random(n) < p_death
    days_ago = rng.integers(1, 366, size=n)
    death = np.where(dies, np.datetime64(ref, "D") - days_ago.astype("timedelta64[D]"), np.datetime64("NaT"))
    knows = dies & (rng.random(n) < float(mort["registry_knows_share"]))

    sc = params["self_care"]
    severe = (grade_i >= 1) & (grade_i <= 2)
    items = np.zeros(n, dtype=np.int64)
    for mask, block in (
        (age >= 80, sc["elderly_80plus"]),
        ((age >= 60) & (age < 80), sc["elderly_60_79"]),
        (severe & (age >= 3), sc["severe_disability"]),
    ):
        draws = _categorical(rng, block, n).astype(np.int64)
        items = np.where(mask, np.maximum(items, draws), items)
    return persons.with_columns(
        disability_category=nullable(category),
        disability_grade=pl.Series(grade_i, dtype=pl.Int8).replace(0, None),
        serious_illness=pl.Series(ill),
        true_death_date=pl.Series(death).cast(pl.Date),
        death_in_registry=pl.Series(knows),
        self_care_unable_items=pl.Series(items, dtype=pl.Int8),
    )


def add_schooling(params: dict[str, Any], persons: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """School stage by age and enrolment rates; `student` means enrolled in primary school or above."""
    s = params["schooling"]
    age = persons["age"].to_numpy()
    n = len(age)
    u, v = rng.random(n), rng.random(n)
    stage = np.select(
        [
            (age >= 3) & (age <= 5) & (u < s["preschool_3_5"]),
            (age >= 6) & (age <= 11) & (u < s["compulsory_6_14"]),
            (age >= 12) & (age <= 14) & (u < s["compulsory_6_14"]),
            (age >= 15) & (age <= 17) & (u < s["senior_15_17"]),
            (age >= 18) & (age <= 21) & (u < s["higher_18_21"]),
            (age >= 22) & (age <= 24) & (u < s["postgraduate_22_24"]),
        ],
        [
            "preschool",
            "primary",
            "junior",
            np.where(v < s["vocational_share_of_senior"], "vocational", "senior"),
            np.where(v < s["undergraduate_share_of_higher"], "undergraduate", "college"),
            "postgraduate",
        ],
        default="",
    )
    stage_s = nullable(np.asarray(stage))
    return persons.with_columns(school_stage=stage_s, student=stage_s.is_not_null() & (stage_s != "preschool"))


def add_work(params: dict[str, Any], persons: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Labour capacity and employment, consistent with age, disability, illness and schooling."""
    age = persons["age"].to_numpy()
    n = len(age)
    grade = persons["disability_grade"].fill_null(0).to_numpy()
    cat = persons["disability_category"].fill_null("").to_numpy()
    ill = persons["serious_illness"].to_numpy()
    items = persons["self_care_unable_items"].to_numpy()
    urban = (persons["hukou_type"] == "urban").to_numpy()
    male = (persons["sex"] == "M").to_numpy()
    student = persons["student"].to_numpy()
    severe = ((grade >= 1) & (grade <= 2)) | (np.isin(cat, ["intellectual", "mental"]) & (grade == 3)) | (items >= 4)
    u = rng.random(n)
    capacity = np.select(
        [age < 16, severe, age >= 65, (age >= 60) & (items >= 1), age >= 60, ill & (u < 0.5), ill, (grade >= 3)],
        ["none", "none", "none", "none", "partial", "none", "partial", "partial"],
        default="full",
    )
    e = params["employment"]
    urban_k, urban_p = shares(e["urban"])
    rural_k, rural_p = shares(e["rural"])
    work_urban = np.array(urban_k, dtype=object)[rng.choice(len(urban_k), size=n, p=urban_p)]
    work_rural = np.array(rural_k, dtype=object)[rng.choice(len(rural_k), size=n, p=rural_p)]
    working = np.where(urban, work_urban, work_rural)
    working = np.where((capacity == "partial") & (working == "employed") & (rng.random(n) < 0.5), "flexible", working)
    pension_age = np.where(male, 60, 55)
    retired = urban & (age >= pension_age) & (rng.random(n) < e["urban_retired_share_55plus"])
    farming_old = ~urban & (age >= 60) & (age <= 74) & (capacity != "none") & (rng.random(n) < e["rural_farming_60_74"])
    employment = np.select(
        [retired, age < 16, student, farming_old, age >= 60, capacity == "none"],
        ["retired", "not_applicable", "not_applicable", "farming", "not_applicable", "not_applicable"],
        default=working,
    )
    self_employed = (employment == "flexible") & (rng.random(n) < float(e["self_employed_share_of_flexible"]))
    registered = (employment == "unemployed") & (rng.random(n) < float(e["registered_unemployed_share"]))
    benefit = registered & (rng.random(n) < float(e["unemployment_benefit_share"]))
    insured = ((employment == "employed") & (rng.random(n) < float(e["formal_social_insurance_share"]))) | (
        (employment == "flexible") & (rng.random(n) < float(e["flexible_insured_share"]))
    )
    pf = e["provident_fund_share"]
    provident = (employment == "employed") & (rng.random(n) < np.where(urban, pf["urban"], pf["rural"]))
    return persons.with_columns(
        labour_capacity=pl.Series(capacity),
        employment=pl.Series(employment, dtype=pl.Utf8),
        self_employed=pl.Series(self_employed),
        unemployment_registered=pl.Series(registered),
        unemployment_benefit=pl.Series(benefit),
        insured=pl.Series(insured),
        provident=pl.Series(provident),
    )


def add_status(params: dict[str, Any], persons: pl.DataFrame, ref: date, rng: np.random.Generator) -> pl.DataFrame:
    """Art. 7 ¶2 exclusions, moves out of the county, and orphans / de-facto unsupported children."""
    age = persons["age"].to_numpy()
    n = len(age)
    alive = persons["true_death_date"].is_null().to_numpy()
    non_head = (persons["relation"] != "head").to_numpy()
    male = (persons["sex"] == "M").to_numpy()
    exclusion = np.full(n, "", dtype=object)
    ex = params["member_exclusion"]
    adults = int(((age >= 18) & alive).sum())
    for kind, rate in ex["adult_rates"].items():
        eligible = (age >= 18) & (age <= 65) & alive & non_head & (exclusion == "")
        count = max(int(ex["min_count"]), round(float(rate) * adults))
        weights = np.where(male, 9.0, 1.0) if kind == "imprisoned" else None
        exclusion[_pick(rng, eligible, count, weights)] = kind

    moved = (age >= 18) & (age <= 45) & alive & non_head & (exclusion == "")
    moved &= rng.random(n) < float(params["moved_out"]["rate_18_45"])

    child_status = np.full(n, "", dtype=object)
    ch = params["children"]
    children = int(((age < 18) & alive).sum())
    raised_by_grandparents = (persons["slot_code"] == "G").to_numpy() & (age < 18) & alive
    for kind in ("orphan_community", "de_facto_unsupported"):
        count = max(int(ch["min_count"]), round(float(ch["per_child_rates"][kind]) * children))
        eligible = raised_by_grandparents & (child_status == "")
        child_status[_pick(rng, eligible, count)] = kind
    lives = exclusion == ""  # clergy, prisoners, rehab and missing persons live elsewhere
    return persons.with_columns(
        member_exclusion=nullable(exclusion),
        moved_out=pl.Series(moved),
        moved_out_on=pl.Series(
            np.where(
                moved,
                np.datetime64(ref - timedelta(days=30), "D") - rng.integers(0, 300, size=n).astype("timedelta64[D]"),
                np.datetime64("NaT"),
            )
        ).cast(pl.Date),
        child_status=nullable(child_status),
        lives_with_household=pl.Series(lives.astype(bool)),
    )


def mark_hardship_children(
    params: dict[str, Any], persons: pl.DataFrame, low_income_hh: np.ndarray, rng: np.random.Generator
) -> pl.DataFrame:
    """困境儿童: children of low-income households with a disability or serious illness come first."""
    ch = params["children"]
    age = persons["age"].to_numpy()
    alive = persons["true_death_date"].is_null().to_numpy()
    status = persons["child_status"].fill_null("").to_numpy().astype(object)
    free = (age < 18) & alive & (status == "")
    children = int(((age < 18) & alive).sum())
    count = max(int(ch["min_count"]), round(float(ch["per_child_rates"]["hardship"]) * children))
    sick = persons["disability_grade"].is_not_null().to_numpy() | persons["serious_illness"].to_numpy()
    poor = low_income_hh[persons["hh"].to_numpy()]
    weights = np.where(sick & poor, 50.0, np.where(sick | poor, 5.0, 0.05))
    status[_pick(rng, free, count, weights)] = "hardship"
    return persons.with_columns(child_status=nullable(status))
