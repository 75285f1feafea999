"""True holdings of each household: deposits and other financial assets, homes and other property,
vehicles, business registrations, and employers (for wages, social insurance and the provident fund)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.synth.ids import credit_codes
from doudi.synth.params import shares

BANKS = (
    "中国农业银行",
    "中国工商银行",
    "中国建设银行",
    "中国银行",
    "中国邮政储蓄银行",
    "农村商业银行",
    "交通银行",
    "城市商业银行",
)
BRAND = "华鑫盛达恒泰宏源丰隆昌瑞金宇宝兴德信诚利康富安嘉弘远通汇聚"
INDUSTRY = (
    "机械",
    "食品",
    "纺织",
    "建材",
    "农业科技",
    "物流",
    "商贸",
    "化工",
    "电子",
    "服饰",
    "建筑工程",
    "医药",
    "汽车配件",
    "生姜",
    "大葱",
    "蔬菜",
    "饲料",
    "包装",
)
SHOP = (
    "百货店",
    "五金店",
    "餐馆",
    "理发店",
    "便利店",
    "农资店",
    "副食店",
    "修车铺",
    "服装店",
    "早餐店",
    "水果店",
    "建材店",
)
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass
class Assets:
    """Every holding, one frame per kind, each row owned by a person (pid) of a household (hh)."""

    bank: pl.DataFrame
    property: pl.DataFrame
    vehicles: pl.DataFrame
    business: pl.DataFrame
    rental: pl.DataFrame  # hh, rent (monthly rent from let property)


def owners(persons: pl.DataFrame) -> pl.DataFrame:
    """Per household: the owner (first living adult by slot) and, when present, the spouse."""
    alive = persons.filter(pl.col("true_death_date").is_null())
    adult = alive.filter(pl.col("age") >= 18).sort("hh", "slot").group_by("hh", maintain_order=True).first()
    anyone = persons.sort("hh", "slot").group_by("hh", maintain_order=True).first()
    spouse = alive.filter(pl.col("relation") == "spouse").group_by("hh").agg(spouse_pid=pl.col("pid").first())
    own = anyone.select("hh", fallback=pl.col("pid")).join(
        adult.select("hh", owner=pl.col("pid")), on="hh", how="left", maintain_order="left"
    )
    own = own.with_columns(owner=pl.coalesce("owner", "fallback")).drop("fallback")
    return own.join(spouse, on="hh", how="left", maintain_order="left")


def _dates_between(rng: np.random.Generator, start: date, end: date, n: int) -> pl.Series:
    lo = np.datetime64(start, "D").astype(np.int64)
    hi = np.datetime64(end, "D").astype(np.int64)
    return pl.Series(rng.integers(lo, hi, size=n).astype("datetime64[D]")).cast(pl.Date)


def _income_rank(levels: pl.DataFrame) -> np.ndarray:
    return (
        levels.select(pl.col("target_pc").rank("average").over("hukou_type") / pl.len().over("hukou_type"))
        .to_series()
        .to_numpy()
    )


def build_assets(
    params: dict[str, Any],
    hh: pl.DataFrame,
    levels: pl.DataFrame,
    persons: pl.DataFrame,
    ref: date,
    rng: np.random.Generator,
) -> Assets:
    """Draw every household's holdings from params.yaml `assets`, poorer households holding less."""
    a = params["assets"]
    n = hh.height
    own = owners(persons).sort("hh")
    owner = own["owner"].to_numpy()
    spouse = own["spouse_pid"].fill_null(-1).to_numpy()
    urban = (levels["hukou_type"] == "urban").to_numpy()
    tail = levels["tail"].to_numpy()
    rank = _income_rank(levels)
    annual = (levels["target_pc"] * levels["size_true"]).to_numpy() * 12

    # Financial assets: a multiple of annual income, split over 1-3 accounts.
    dm = a["deposit_income_multiple"]
    total = annual * float(dm["median"]) * np.exp(float(dm["sigma"]) * rng.standard_normal(n))
    total = np.where(tail, total * 0.3, total) * (rng.random(n) >= float(dm["zero_share"]))
    k_keys, k_p = shares(a["accounts_per_household"])
    n_acc = np.array([int(k) for k in k_keys])[rng.choice(len(k_keys), size=n, p=k_p)] * (total > 0)
    acc_hh = np.repeat(np.arange(n), n_acc)
    split = rng.gamma(1.5, 1.0, size=len(acc_hh))
    split = split / np.bincount(acc_hh, weights=split, minlength=n)[acc_hh]
    prod_k, prod_p = shares(a["products"])
    use_spouse = (spouse[acc_hh] >= 0) & (rng.random(len(acc_hh)) < 0.35)
    county = hh["county_code"].to_numpy()
    bank = pl.DataFrame(
        {
            "hh": acc_hh,
            "pid": np.where(use_spouse, spouse[acc_hh], owner[acc_hh]),
            "institution": pl.Series(BANKS).gather(rng.integers(0, len(BANKS), size=len(acc_hh))),
            "product": np.array(prod_k)[rng.choice(len(prod_k), size=len(acc_hh), p=prod_p)],
            "balance": np.round(total[acc_hh] * split, 2),
        }
    ).with_columns(as_of=pl.lit(ref))

    # Homes and other property.
    r = a["residential"]
    has_home = rng.random(n) < np.where(urban, r["urban_own"], r["rural_own"])
    second = has_home & (rng.random(n) < np.where(urban, r["second_urban"], r["second_rural"]) * np.where(tail, 0.2, 1))
    non_res = rng.random(n) < np.where(urban, a["non_residential"]["urban"], a["non_residential"]["rural"]) * np.where(
        tail, 0.1, 0.5 + rank
    )
    prop_hh = np.concatenate([np.flatnonzero(has_home), np.flatnonzero(second), np.flatnonzero(non_res)])
    use = np.concatenate(
        [
            np.full(has_home.sum(), "residential"),
            np.full(second.sum(), "residential"),
            np.full(non_res.sum(), "commercial"),
        ]
    )
    first_home = np.concatenate([np.ones(has_home.sum(), bool), np.zeros(second.sum() + non_res.sum(), bool)])
    m = len(prop_hh)
    fa = a["floor_area"]
    area_u, area_r = fa["urban"], fa["rural"]
    rural_first = first_home & ~urban[prop_hh]
    floor = np.where(rural_first, rng.normal(area_r[0], area_r[1], m), rng.normal(area_u[0], area_u[1], m))
    floor = np.round(np.clip(np.where(use == "commercial", floor * 0.8, floor), 18, 400), 2)
    price = np.where(rural_first, a["price_per_m2"]["rural"], a["price_per_m2"]["urban"])
    registered = ~rural_first | (rng.random(m) < r["rural_registered"])
    addr = hh["address"].to_numpy()
    county_name = params["county_names"]
    location = np.where(
        first_home,
        addr[prop_hh],
        pl.Series([county_name[c] for c in county[prop_hh]])
        + pl.Series(rng.integers(1, 60, size=m)).cast(pl.Utf8)
        + "号小区"
        + pl.Series(rng.integers(1, 30, size=m)).cast(pl.Utf8)
        + "号楼",
    )
    cert = (
        pl.DataFrame(
            {
                "y": rng.integers(2000, ref.year + 1, size=m),
                "c": county[prop_hh],
                "s": rng.integers(1, 9_999_999, size=m),
            }
        )
        # A certificate number belongs to one property: a repeated draw gets a number above the drawn range.
        .with_columns(s=pl.when(pl.int_range(pl.len()).over("y", "c", "s") > 0)
                      .then(pl.col("s") + 10_000_000 + pl.int_range(pl.len())).otherwise(pl.col("s")))
        .select(
            pl.format(
                "{}({}){}不动产权第{}号",
                pl.lit(params["cert_prefix"]),
                "y",
                pl.col("c").replace_strict(county_name, return_dtype=pl.Utf8),
                pl.col("s").cast(pl.Utf8).str.zfill(7),
            )
        )
        .to_series()
    )
    prop = pl.DataFrame(
        {
            "hh": prop_hh,
            "prop_no": np.arange(m),
            "property_use": use,
            "floor_area": floor,
            "value": np.round(floor * price * rng.uniform(0.7, 1.3, m), -2),
            "location": location,
            "certificate_no": cert,
            "registered": registered,
            "first_home": first_home,
            "registered_on": _dates_between(rng, date(2000, 1, 1), ref, m),
        }
    )
    # Married owners hold a home in equal shares: one row per owner, as the register lists them.
    joint = (spouse[prop_hh] >= 0) & (use == "residential") & (rng.random(m) < 0.6)
    prop = pl.concat(
        [
            prop.with_columns(pid=pl.Series(owner[prop_hh]), share=pl.Series(np.where(joint, 0.5, 1.0))),
            prop.filter(pl.Series(joint)).with_columns(pid=pl.Series(spouse[prop_hh][joint]), share=pl.lit(0.5)),
        ]
    ).sort("prop_no", "pid")
    let_out = (use == "commercial") | (~first_home & (rng.random(m) < 0.6))
    rent_rate = np.where(use == "commercial", 0.04, 0.02) / 12
    rental = (
        pl.DataFrame({"hh": prop_hh, "rent": np.where(let_out, floor * price * rent_rate, 0.0)})
        .filter(pl.col("rent") > 0)
        .group_by("hh")
        .agg(pl.col("rent").sum())
        .sort("hh")
    )

    vehicles = _vehicles(params, persons, own, urban, tail, rank, ref, rng)
    business = _business(params, hh, persons, own, urban, rank, ref, rng)
    return Assets(bank=bank, property=prop, vehicles=vehicles, business=business, rental=rental)


def _vehicles(
    params: dict[str, Any],
    persons: pl.DataFrame,
    own: pl.DataFrame,
    urban: np.ndarray,
    tail: np.ndarray,
    rank: np.ndarray,
    ref: date,
    rng: np.random.Generator,
) -> pl.DataFrame:
    a = params["assets"]
    n = len(urban)
    owner = own["owner"].to_numpy()
    poor = np.where(tail, 0.3, 1.0)
    p_car = np.clip(np.where(urban, a["car"]["urban"], a["car"]["rural"]) * (0.2 + 1.6 * rank) * poor, 0, 0.95)
    physical = np.zeros(n, dtype=bool)
    phys_hh = persons.filter(pl.col("disability_category").is_in(["physical", "multiple"]))["hh"].unique().to_numpy()
    physical[phys_hh] = True
    kinds = {
        "car": rng.random(n) < p_car,
        "truck": ~urban & (rng.random(n) < a["truck_van_rural"] * 0.6 * poor),
        "van": ~urban & (rng.random(n) < a["truck_van_rural"] * 0.4 * poor),
        "motorcycle": rng.random(n) < np.where(urban, a["motorcycle"]["urban"], a["motorcycle"]["rural"]),
        "e_bike": rng.random(n) < a["e_bike"],
        "disabled_mobility": physical & (rng.random(n) < a["disabled_mobility_given_physical"]),
    }
    cv = a["car_value"]
    value_of: dict[str, Callable[[int], Any]] = {
        "car": lambda k: float(cv["median"]) * np.exp(float(cv["sigma"]) * rng.standard_normal(k)),
        "truck": lambda k: rng.uniform(30_000, 120_000, k),
        "van": lambda k: rng.uniform(20_000, 80_000, k),
        "motorcycle": lambda k: rng.uniform(2_000, 9_000, k),
        "e_bike": lambda k: rng.uniform(800, 3_500, k),
        "disabled_mobility": lambda k: rng.uniform(3_000, 12_000, k),
    }
    frames = []
    for kind, mask in kinds.items():
        idx = np.flatnonzero(mask)
        k = len(idx)
        age_years = rng.uniform(0, 12, k)
        frames.append(
            pl.DataFrame(
                {
                    "hh": idx,
                    "pid": owner[idx],
                    "vehicle_type": np.full(k, kind),
                    "estimated_value": np.round(value_of[kind](k) * np.exp(-0.12 * age_years), -1),
                    "registered_on": pl.Series(
                        np.datetime64(ref, "D") - (age_years * 365).astype("timedelta64[D]")
                    ).cast(pl.Date),
                }
            )
        )
    veh = pl.concat(frames).sort("hh", "vehicle_type")
    k = veh.height
    alphabet, digits = pl.Series(list(PLATE_CHARS)), pl.Series(list("0123456789"))
    idx = rng.integers(0, len(PLATE_CHARS), size=(k, 5))
    # GA 36-2018: a small car's serial holds at most two letters; the last three are digits here.
    tail5 = pl.DataFrame({f"c{j}": alphabet.gather(idx[:, j]) if j < 2 else digits.gather(idx[:, j] % 10)
                          for j in range(5)}).select(
        pl.concat_str([f"c{j}" for j in range(5)])).to_series()
    e_digits = pl.Series(rng.integers(0, 1_000_000, size=k)).cast(pl.Utf8).str.zfill(6)
    return veh.with_columns(
        plate_no=pl.when(pl.col("vehicle_type") == "e_bike")
        .then(params["ebike_prefix"] + e_digits)
        .otherwise(params["plate_prefix"] + tail5)
    )


def _business(
    params: dict[str, Any],
    hh: pl.DataFrame,
    persons: pl.DataFrame,
    own: pl.DataFrame,
    urban: np.ndarray,
    rank: np.ndarray,
    ref: date,
    rng: np.random.Generator,
) -> pl.DataFrame:
    b = params["assets"]["business"]
    n = len(urban)
    owner = own["owner"].to_numpy()
    county = hh["county_code"].to_numpy()
    selfemp = persons.filter(pl.col("self_employed") & pl.col("true_death_date").is_null())
    company = rng.random(n) < b["company"] * (0.3 + 1.4 * rank)
    coop = ~urban & (rng.random(n) < b["cooperative_rural"])
    lapsed = rng.random(n) < b["lapsed"]
    parts = [
        selfemp.select(
            "hh", "pid", entity_type=pl.lit("individual_business"), role=pl.lit("operator"), status=pl.lit("active")
        ),
        pl.DataFrame(
            {
                "hh": np.flatnonzero(company),
                "pid": owner[company],
                "entity_type": "company",
                "role": np.where(rng.random(int(company.sum())) < 0.6, "legal_representative", "shareholder"),
                "status": "active",
            }
        ),
        pl.DataFrame(
            {
                "hh": np.flatnonzero(coop),
                "pid": owner[coop],
                "entity_type": "cooperative",
                "role": "shareholder",
                "status": "active",
            }
        ),
        pl.DataFrame(
            {
                "hh": np.flatnonzero(lapsed),
                "pid": owner[lapsed],
                "entity_type": "individual_business",
                "role": "operator",
                "status": np.where(rng.random(int(lapsed.sum())) < 0.5, "revoked", "cancelled"),
            }
        ),
    ]
    biz = pl.concat(parts, how="vertical_relaxed").sort("hh", "pid", "entity_type", "status")
    k = biz.height
    etype = biz["entity_type"].to_numpy()
    bhh = biz["hh"].to_numpy()
    county_name = params["county_names"]
    brand = [BRAND[i] + BRAND[j] for i, j in rng.integers(0, len(BRAND), size=(k, 2))]
    industry = pl.Series(INDUSTRY).gather(rng.integers(0, len(INDUSTRY), size=k)).to_numpy()
    shop = pl.Series(SHOP).gather(rng.integers(0, len(SHOP), size=k)).to_numpy()
    names = [
        f"{county_name[c]}{br}{ind}有限公司"
        if t == "company"
        else f"{county_name[c]}{br}{ind}专业合作社"
        if t == "cooperative"
        else f"{county_name[c]}{br}{sh}"
        for c, t, br, ind, sh in zip(county[bhh], etype, brand, industry, shop, strict=True)
    ]
    capital = np.where(
        etype == "company",
        np.round(rng.uniform(100_000, 5_000_000, k), -4),
        np.where(
            etype == "cooperative",
            np.round(rng.uniform(50_000, 500_000, k), -3),
            np.round(rng.uniform(10_000, 200_000, k), -3),
        ),
    )
    return biz.with_columns(
        credit_code=credit_codes(county[bhh], etype, rng),
        entity_name=pl.Series(names),
        registered_capital=pl.Series(capital),
        registered_on=_dates_between(rng, date(2008, 1, 1), ref, k),
    )


def employers(params: dict[str, Any], persons: pl.DataFrame, hh: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """An employer name for every person (used only for the employed): firms in the person's county."""
    n = persons.height
    pool_size = max(30, int((persons["employment"] == "employed").sum()) // 40)
    brand = [BRAND[i] + BRAND[j] for i, j in rng.integers(0, len(BRAND), size=(pool_size, 2))]
    industry = pl.Series(INDUSTRY).gather(rng.integers(0, len(INDUSTRY), size=pool_size)).to_list()
    firms = pl.Series([f"{b}{i}有限公司" for b, i in zip(brand, industry, strict=True)])
    county_of = hh["county_code"].gather(persons["hh"])
    cname = county_of.replace_strict(params["county_names"], return_dtype=pl.Utf8)
    return (cname + firms.gather(rng.integers(0, pool_size, size=n))).alias("employer")
