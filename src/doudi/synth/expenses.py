"""Rigid expenses over the last 12 months (medical settlements, tuition, rehabilitation) and living
conditions (housing type and condition, floor area per person, drinking water, toilet)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from doudi.synth.assets import Assets

HOSPITALS_LOCAL = ("人民医院", "中医院", "妇幼保健院")
HOSPITALS_CITY = ("潍坊市人民医院", "潍坊医学院附属医院", "山东大学齐鲁医院", "山东省立医院")
HOSPITALS_SOUTH = ("江门市中心医院", "江门市人民医院", "中山大学附属第一医院", "广东省人民医院")


def medical_settlements(
    params: dict[str, Any], persons: pl.DataFrame, ref: date, rng: np.random.Generator
) -> pl.DataFrame:
    """Medical-insurance settlements of the last 12 months: total cost, fund share and out-of-pocket."""
    e = params["expenses"]
    v = e["visits_per_year"]
    age = persons["age"].to_numpy()
    ill = persons["serious_illness"].to_numpy()
    lam = np.select([ill, age >= 60, age >= 40], [v["serious"], v["elderly"], v["middle"]], v["young"])
    visits = rng.poisson(lam)
    idx = np.repeat(np.arange(persons.height), visits)
    k = len(idx)
    ill_k = ill[idx]
    inpatient = rng.random(k) < np.where(ill_k, e["inpatient_share"]["serious"], e["inpatient_share"]["normal"])
    oc, ic, sc = e["outpatient_cost"], e["inpatient_cost"], e["serious_inpatient_cost"]
    z = rng.standard_normal(k)
    cost = np.select(
        [inpatient & ill_k, inpatient],
        [sc["median"] * np.exp(sc["sigma"] * z), ic["median"] * np.exp(ic["sigma"] * z)],
        oc["median"] * np.exp(oc["sigma"] * z),
    )
    fr = e["fund_paid_ratio"]
    (in_lo, in_hi), (out_lo, out_hi) = fr["inpatient"], fr["outpatient"]
    ratio = np.where(inpatient, rng.uniform(in_lo, in_hi, k), rng.uniform(out_lo, out_hi, k))
    cost = np.round(cost, 2)
    fund = np.round(cost * ratio, 2)
    settled = np.datetime64(ref, "D") - rng.integers(0, 365, size=k).astype("timedelta64[D]")
    death = persons["true_death_date"].to_numpy()[idx].astype("datetime64[D]")
    settled = np.where(np.isnat(death), settled, np.minimum(settled, death - np.timedelta64(1, "D")))
    south = params["code"].startswith("44")
    city = HOSPITALS_SOUTH if south else HOSPITALS_CITY
    local = [params["county_label"] + h for h in HOSPITALS_LOCAL]
    institution = np.where(
        inpatient & (ill_k | (rng.random(k) < 0.2)),
        np.array(city)[rng.integers(0, len(city), size=k)],
        np.array(local)[rng.integers(0, len(local), size=k)],
    )
    return (
        pl.DataFrame(
            {
                "pid": persons["pid"].to_numpy()[idx],
                "hh": persons["hh"].to_numpy()[idx],
                "settled_on": settled,
                "total_cost": cost,
                "fund_paid": fund,
                "out_of_pocket": np.round(cost - fund, 2),
                "institution": institution,
                "serious_illness": np.where(ill_k & inpatient, "1", "0"),
            }
        )
        .with_columns(pl.col("settled_on").cast(pl.Date))
        .sort("pid", "settled_on")
    )


def rigid_expenses(
    params: dict[str, Any], persons: pl.DataFrame, medical: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Per person and kind, the true rigid expense over the last 12 months (yuan)."""
    e = params["expenses"]
    med = medical.group_by("pid", "hh").agg(amount=pl.col("out_of_pocket").sum()).with_columns(kind=pl.lit("medical"))
    tuition = e["tuition"]
    edu = (
        persons.filter(pl.col("school_stage").is_not_null())
        .select(
            "pid",
            "hh",
            amount=pl.col("school_stage").replace_strict(tuition, return_dtype=pl.Float64, default=0.0),
        )
        .filter(pl.col("amount") > 0)
        .with_columns(kind=pl.lit("education"))
    )
    kids = persons.filter((pl.col("age") < 18) & pl.col("disability_grade").is_not_null())
    lo, hi = e["rehabilitation_cost"]
    take = rng.random(kids.height) < float(e["rehabilitation_child_share"])
    rehab = (
        kids.filter(pl.Series(take))
        .select("pid", "hh")
        .with_columns(
            amount=pl.Series(np.round(rng.uniform(lo, hi, int(take.sum())), -1)),
            kind=pl.lit("rehabilitation"),
        )
    )
    cols = ["pid", "hh", "kind", "amount"]
    return pl.concat([med.select(cols), edu.select(cols), rehab.select(cols)], how="vertical_relaxed").sort(
        "hh", "pid", "kind"
    )


def living_conditions(
    params: dict[str, Any], hh: pl.DataFrame, levels: pl.DataFrame, assets: Assets, rng: np.random.Generator
) -> pl.DataFrame:
    """Observed living conditions per household (kind, value), poorer households in worse housing."""
    lv = params["living"]
    n = hh.height
    urban = (levels["hukou_type"] == "urban").to_numpy()
    tail = levels["tail"].to_numpy()
    inst = hh["institution"].to_numpy()
    homes = assets.property.filter(pl.col("first_home")).unique("prop_no").select("hh", "floor_area")
    has_home = np.zeros(n, dtype=bool)
    area = np.zeros(n)
    has_home[homes["hh"].to_numpy()] = True
    area[homes["hh"].to_numpy()] = homes["floor_area"].to_numpy()
    size = np.maximum(levels["size_true"].to_numpy(), 1)
    housing = np.select(
        [inst, has_home & urban, has_home, urban & tail & (rng.random(n) < 0.4), urban],
        ["institution", "owned_apartment", "self_built_house", "public_rental", "rented"],
        "borrowed",
    )
    area = np.where(has_home, area, np.clip(rng.normal(45, 15, n), 12, 120))
    dil = rng.random(n) < np.where(tail, lv["dilapidated"]["low_income"], lv["dilapidated"]["normal"])
    condition = np.where(inst, "good", np.where(dil, "dilapidated", np.where(rng.random(n) < 0.4, "good", "ordinary")))
    water = np.where(urban | (rng.random(n) < lv["tap_water_rural"]), "tap", "well")
    toilet = np.where(
        rng.random(n) < np.where(urban, lv["flush_toilet"]["urban"], lv["flush_toilet"]["rural"]), "flush", "dry"
    )
    wide = pl.DataFrame(
        {
            "hh": np.arange(n),
            "housing_type": housing,
            "housing_condition": condition,
            "floor_area_per_capita": pl.Series(np.round(area / size, 1)).cast(pl.Utf8),
            "drinking_water": water,
            "toilet": toilet,
        }
    )
    return wide.unpivot(index="hh", variable_name="kind", value_name="value").sort("hh", "kind")


def school_records(
    params: dict[str, Any], persons: pl.DataFrame, hh: pl.DataFrame, ref: date, rng: np.random.Generator
) -> pl.DataFrame:
    """学籍: current pupils and students, plus recent graduates and drop-outs of senior-school age."""
    tuition = params["expenses"]["tuition"]
    stage_start = {
        "preschool": 3,
        "primary": 6,
        "junior": 12,
        "senior": 15,
        "vocational": 15,
        "college": 18,
        "undergraduate": 18,
        "postgraduate": 22,
    }
    town = hh["township_name"].to_numpy()[persons["hh"].to_numpy()]
    label = params["county_label"]
    names: dict[str, Callable[[str], str]] = {
        "preschool": lambda t: f"{label}{t}中心幼儿园",
        "primary": lambda t: f"{label}{t}中心小学",
        "junior": lambda t: f"{label}{t}初级中学",
        "senior": lambda _t: f"{label}第一中学",
        "vocational": lambda _t: f"{label}职业教育中心学校",
        "college": lambda _t: params["college"],
        "undergraduate": lambda _t: params["university"],
        "postgraduate": lambda _t: params["university"],
    }
    stage = persons["school_stage"].to_numpy()
    age = persons["age"].to_numpy()
    enrolled = np.array([s is not None for s in stage])
    graduated = ~enrolled & (age >= 18) & (age <= 19) & (rng.random(len(age)) < 0.5)
    dropped = ~enrolled & (age >= 15) & (age <= 17)
    stage = np.where(graduated, "senior", np.where(dropped, "junior", stage))
    keep = np.flatnonzero(enrolled | graduated | dropped)
    stage, town, age = stage[keep], town[keep], age[keep]
    school = [names[s](t) for s, t in zip(stage, town, strict=True)]
    start_age = np.array([stage_start[s] for s in stage], dtype=np.int64)
    enrol_year = ref.year - np.maximum(age - start_age, 0) - (0 if ref.month >= 9 else 1)
    enrolled_on = (enrol_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.timedelta64(243, "D")
    frame = pl.DataFrame(
        {
            "pid": persons["pid"].to_numpy()[keep],
            "hh": persons["hh"].to_numpy()[keep],
            "school": school,
            "stage": stage.astype(str),
            "enrolled_on": pl.Series(enrolled_on).cast(pl.Date),
            "status": np.where(enrolled[keep], "enrolled", np.where(graduated[keep], "graduated", "dropped")),
        }
    )
    return frame.with_columns(
        enrolled_on=pl.date(pl.col("enrolled_on").dt.year(), 9, 1).clip(upper_bound=ref - timedelta(days=1)),
        tuition_per_year=pl.col("stage").replace_strict(tuition, return_dtype=pl.Float64, default=0.0),
    )
