"""Households and their members: size, composition, ages consistent with relations, sex, area, names, IDs.

Household sizes follow the census distribution; each household draws a composition template of that
size (params.yaml `household_templates`), and every member's age derives from the head's age through the
relation (a child is 20-36 years younger than the head, a parent 22-34 years older, …), so relations and
ages are always consistent. Everything is computed on whole arrays; nothing loops over households.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.synth.areas import RegionAreas
from doudi.synth.ids import assign_sequences, build_id_numbers
from doudi.synth.names import sample_name_parts
from doudi.synth.params import shares

RELATION_OF = {
    "H": "head",
    "S": "spouse",
    "C": "child",
    "P": "parent",
    "G": "grandchild",
    "L": "child_in_law",
    "g": "grandchild",
}
SLOT_CODES = ("H", "S", "C", "P", "G", "L", "g")
ROADS = (
    "人民路",
    "健康路",
    "和平路",
    "青云路",
    "汶河路",
    "长安路",
    "新安路",
    "兴安路",
    "永安路",
    "建设路",
    "文化路",
    "商业街",
    "富民路",
    "学府路",
    "东风路",
    "滨河路",
    "振兴路",
    "迎宾路",
    "光明路",
    "团结路",
)


@dataclass
class Population:
    """The synthetic households and persons (one row per person), before economic facts."""

    households: pl.DataFrame
    persons: pl.DataFrame


def _pick_templates(params: dict[str, Any], sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    templates = params["household_templates"]["list"]
    out = np.empty(len(sizes), dtype=np.int64)
    for size in np.unique(sizes):
        idx = [i for i, t in enumerate(templates) if t["size"] == size]
        w = np.array([templates[i]["weight"] for i in idx], dtype=np.float64)
        mask = sizes == size
        out[mask] = np.array(idx)[rng.choice(len(idx), size=int(mask.sum()), p=w / w.sum())]
    return out


def _assign_villages(villages: pl.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    w = villages["weight"].to_numpy()
    picks = rng.choice(len(w), size=n, p=w / w.sum())
    return np.sort(picks)  # households numbered village by village, as a registry lists them


def _urban_probability(params: dict[str, Any], villages: pl.DataFrame) -> np.ndarray:
    """Per-village probability of urban hukou, with the town share derived to hit the overall target."""
    u = params["urban_share"]
    w = villages["weight"].to_numpy()
    sub = (villages["kind"] == "subdistrict").to_numpy()
    share_sub = w[sub].sum() / w.sum()
    town = (u["value"] - share_sub * u["subdistrict_urban"]) / max(1e-9, 1 - share_sub)
    return np.where(sub, u["subdistrict_urban"], float(np.clip(town, 0.02, 0.98)))


def build_households(params: dict[str, Any], areas: RegionAreas, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """One row per household: template, size, area, hukou type and address."""
    size_keys, size_p = shares(params["household_size"]["shares"])
    sizes = np.array([int(k) for k in size_keys])[rng.choice(len(size_keys), size=n, p=size_p)]
    template = _pick_templates(params, sizes, rng)
    vil = areas.villages
    vidx = _assign_villages(vil, n, rng)
    urban = rng.random(n) < _urban_probability(params, vil)[vidx]
    tlist = params["household_templates"]["list"]
    frame = pl.DataFrame(
        {
            "hh": np.arange(n, dtype=np.int64),
            "template": pl.Series([tlist[i]["key"] for i in range(len(tlist))]).gather(template),
            "template_idx": template,
            "size": sizes.astype(np.int64),
            "village_idx": vidx,
            "hukou_type": np.where(urban, "urban", "rural"),
        }
    ).with_columns(institution=pl.lit(False))
    frame = frame.join(
        vil.with_row_index("village_idx").with_columns(pl.col("village_idx").cast(pl.Int64)),
        on="village_idx",
        how="left",
        maintain_order="left",
    ).sort("hh")
    return _with_addresses(frame, rng)


def _with_addresses(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    road = pl.Series(ROADS).gather(rng.integers(0, len(ROADS), size=n))
    urban_style = (frame["kind"] == "subdistrict") | (frame["hukou_type"] == "urban")
    return (
        frame.with_columns(
            road=road,
            no=pl.Series(rng.integers(1, 300, size=n)),
            bld=pl.Series(rng.integers(1, 30, size=n)),
            unit=pl.Series(rng.integers(1, 5, size=n)),
            room=pl.Series(rng.integers(1, 19, size=n) * 100 + rng.integers(1, 5, size=n)),
            urban_style=urban_style,
        )
        .with_columns(
            address=pl.when(pl.col("urban_style"))
            .then(
                pl.format(
                    "{}{}{}{}号{}号楼{}单元{}室", "township_name", "village_name", "road", "no", "bld", "unit", "room"
                )
            )
            .otherwise(pl.format("{}{}{}号", "township_name", "village_name", "no"))
        )
        .drop("road", "no", "bld", "unit", "room", "urban_style")
    )


def _slot_table(params: dict[str, Any]) -> np.ndarray:
    tlist = params["household_templates"]["list"]
    width = max(t["size"] for t in tlist)
    table = np.full((len(tlist), width), -1, dtype=np.int64)
    for i, t in enumerate(tlist):
        codes = ["H", *t["members"]]
        if len(codes) != t["size"]:
            raise ValueError(f"模板 {t['key']} 的成员数与 size 不符")
        table[i, : len(codes)] = [SLOT_CODES.index(c) for c in codes]
    return table


def explode_members(params: dict[str, Any], hh: pl.DataFrame, ref: date, rng: np.random.Generator) -> pl.DataFrame:
    """One row per member with relation, age, birth date and sex consistent with the head."""
    tlist = params["household_templates"]["list"]
    tidx = hh["template_idx"].to_numpy()
    sizes = hh["size"].to_numpy()
    n_hh = len(sizes)
    lo = np.array([t["head_age"][0] for t in tlist])[tidx]
    hi = np.array([t["head_age"][1] for t in tlist])[tidx]
    head_age = lo + rng.random(n_hh) * (hi - lo + 1)
    head_male = rng.random(n_hh) < np.array([t["male_head"] for t in tlist])[tidx]
    first_child_gap = 20 + rng.random(n_hh) * np.clip(head_age - 20, 0, 16)
    first_child_male = rng.random(n_hh) < np.where(np.isin(tidx, _with_code(tlist, "L")), 0.8, 0.53)

    hh_of = np.repeat(np.arange(n_hh), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    slot = np.arange(len(hh_of)) - starts
    code = _slot_table(params)[tidx[hh_of], slot]
    n = len(code)
    u = rng.random(n)
    h_age = head_age[hh_of]
    is_c = code == SLOT_CODES.index("C")
    # k-th child of the head (0 for the first): siblings are 1.5-5 years apart.
    c_rank = pl.DataFrame({"hh": hh_of, "c": is_c}).select(pl.col("c").cast(pl.Int64).cum_sum().over("hh") - 1)
    c_rank_np = c_rank.to_series().to_numpy()
    first_c = np.maximum(h_age - first_child_gap[hh_of], 0)
    has_l = np.isin(tidx[hh_of], _with_code(tlist, "L"))
    jitter = rng.random(n) * 3  # values pushed to a bound get spread over a few years, not one birth date
    first_c = np.where(has_l, np.minimum(np.where(first_c < 22, 22 + jitter, first_c), h_age - 20), first_c)

    age = np.select(
        [code == 0, code == 1, is_c, code == 3, code == 4, code == 5, code == 6],
        [
            h_age,
            h_age + np.where(head_male[hh_of], -2.5, 2.5) + rng.normal(0, 3, n),
            first_c - c_rank_np * (1.5 + 3.5 * u),
            h_age + 22 + 12 * u,
            u * 17,
            first_c + (u * 6 - 3),
            first_c - 22 - 10 * u,
        ],
    )
    age = np.where(((code == 1) | (code == 5)) & (age < 20), 20 + jitter, age)
    # Ages pushed past a bound are redrawn inside it, so no birth date piles up (IDs need distinct dates).
    age = np.where(age < 0.5, rng.random(n) * 0.99, age)
    age = np.where(age > 100, 95 + rng.random(n) * 5, age)
    sex_male = np.select(
        [code == 0, code == 1, is_c & (c_rank_np == 0), code == 5],
        [head_male[hh_of], ~head_male[hh_of], first_child_male[hh_of], ~first_child_male[hh_of]],
        default=rng.random(n) < params["sex_ratio_children"]["male_share"],
    )
    # Two parents of the head: one father, one mother; a lone parent is more often the mother (longevity).
    is_p = code == 3
    p_rank = pl.DataFrame({"hh": hh_of, "p": is_p}).select(pl.col("p").cast(pl.Int64).cum_sum().over("hh") - 1)
    p_rank_np = p_rank.to_series().to_numpy()
    n_p = pl.DataFrame({"hh": hh_of, "p": is_p}).select(pl.col("p").cast(pl.Int64).sum().over("hh")).to_series()
    lone_mother = rng.random(n) < 0.65
    sex_male = np.where(is_p, np.where(n_p.to_numpy() == 2, p_rank_np == 0, ~lone_mother), sex_male)

    age_days = np.floor(age * 365.25).astype(np.int64)
    birth = np.datetime64(ref, "D") - age_days.astype("timedelta64[D]")
    return pl.DataFrame(
        {
            "hh": hh_of.astype(np.int64),
            "slot": slot.astype(np.int64),
            "slot_code": pl.Series(list(SLOT_CODES)).gather(code),
            "relation": pl.Series([RELATION_OF[c] for c in SLOT_CODES]).gather(code),
            "birth_date": birth,
            "sex": np.where(sex_male, "M", "F"),
        }
    )


def _with_code(tlist: list[dict[str, Any]], code: str) -> list[int]:
    return [i for i, t in enumerate(tlist) if code in t["members"]]


def age_at(birth: pl.Expr | str, ref: date) -> pl.Expr:
    """Completed years of age at `ref`."""
    b = pl.col(birth) if isinstance(birth, str) else birth
    had_birthday = (b.dt.month() < ref.month) | ((b.dt.month() == ref.month) & (b.dt.day() <= ref.day))
    return (pl.lit(ref.year) - b.dt.year() - pl.when(had_birthday).then(0).otherwise(1)).cast(pl.Int32)


def family_names(persons: pl.DataFrame, parts: pl.DataFrame) -> pl.Series:
    """Full names with family surnames: children take the father's, the head's father the head's, …

    The father is the head when the head is a man, else the head's (male) spouse; without a father in the
    household children take the head's surname. Grandchildren raised by a grandfather take his surname,
    and a married son's children take the son's. Spouses, mothers and children-in-law keep their own."""
    f = persons.select("hh", "slot_code", "sex").with_columns(parts)
    own = pl.col("surname")
    head = own.filter(pl.col("slot_code") == "H").first().over("hh")
    head_male = (pl.col("sex").filter(pl.col("slot_code") == "H").first().over("hh") == "M").fill_null(False)
    spouse = own.filter(pl.col("slot_code") == "S").first().over("hh")
    father = pl.when(head_male).then(head).otherwise(pl.coalesce(spouse, head))
    son_first = (pl.col("sex").filter(pl.col("slot_code") == "C").first().over("hh") == "M").fill_null(False)
    code, male = pl.col("slot_code"), pl.col("sex") == "M"
    surname = (
        pl.when(code == "C")
        .then(father)
        .when((code == "P") & male)
        .then(head)
        .when((code == "G") & head_male)
        .then(head)
        .when((code == "g") & son_first)
        .then(father)
        .otherwise(own)
    )
    return f.select((surname + pl.col("given")).alias("name")).to_series()


def add_identity(
    persons: pl.DataFrame, hh: pl.DataFrame, rng_names: np.random.Generator, rng_ids: np.random.Generator
) -> pl.DataFrame:
    """Names, ID numbers (area prefix = the household's county code) and mobile phone numbers."""
    persons = persons.join(hh.select("hh", "county_code"), on="hh", how="left", maintain_order="left")
    sex = persons["sex"].to_numpy()
    names = family_names(persons, sample_name_parts(rng_names, sex))
    area = persons["county_code"].cast(pl.Int64).to_numpy()
    birth = persons["birth_date"].to_numpy()
    seq = assign_sequences(area, birth, sex == "M", rng_ids)
    ids = build_id_numbers(area, birth, seq)
    n = persons.height
    prefixes = np.array(
        [
            130,
            131,
            132,
            133,
            135,
            136,
            137,
            138,
            139,
            150,
            151,
            152,
            155,
            157,
            158,
            159,
            166,
            176,
            177,
            178,
            180,
            181,
            183,
            185,
            186,
            187,
            188,
            189,
            198,
            199,
        ]
    )
    phone = pl.Series(prefixes[rng_ids.integers(0, len(prefixes), size=n)]).cast(pl.Utf8) + pl.Series(
        rng_ids.integers(0, 100_000_000, size=n)
    ).cast(pl.Utf8).str.zfill(8)
    has_phone = rng_ids.random(n) < 0.92
    return persons.with_columns(name=names, id_number=ids, phone=phone, has_phone=pl.Series(has_phone))
