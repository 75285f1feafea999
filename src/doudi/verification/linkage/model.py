"""The person linkage model (Fellegi-Sunter, via Splink): comparisons, blocking rules and thresholds.

Thresholds and training settings are data (linkage.yaml), so they can be tuned and reviewed without code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities that decide what happens to a scored pair."""

    auto_accept: float  # at or above: linked without a human
    review: float  # at or above (and below auto_accept): queued for clerical review
    exact_id_min: float  # an exact-ID pair scoring below this (name and birth date disagree) goes to review


@dataclass(frozen=True)
class LinkageConfig:
    """Everything that shapes a linkage run, loaded from linkage.yaml."""

    thresholds: Thresholds
    u_max_pairs: float
    em_max_pairs: float
    min_records_to_train: int
    m_floor: float
    seed: int
    defaults: dict[str, Any]


@lru_cache
def load_config() -> LinkageConfig:
    """The packaged linkage configuration."""
    data = yaml.safe_load(files("doudi.verification.linkage").joinpath("linkage.yaml").read_text(encoding="utf-8"))
    t = data["thresholds"]
    tr = data["training"]
    return LinkageConfig(
        thresholds=Thresholds(float(t["auto_accept"]["value"]), float(t["review"]["value"]),
                              float(t["exact_id_min"]["value"])),
        u_max_pairs=float(tr["u_max_pairs"]),
        em_max_pairs=float(tr["em_max_pairs"]),
        min_records_to_train=int(tr["min_records_to_train"]),
        m_floor=float(tr["m_floor"]),
        seed=int(tr["seed"]),
        defaults=data["default_parameters"],
    )


def comparisons() -> list[Any]:
    """The comparisons of a Chinese person record pair, most specific level first."""
    # Imported here: Splink (and its DuckDB backend) is loaded only when records are linked.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_description="身份证号",
        comparison_levels=[
            cll.CustomLevel("id_raw_l IS NULL OR id_raw_r IS NULL").configure(is_null_level=True),
            cll.CustomLevel("id18_l = id18_r", "valid and equal"),
            # Two different valid numbers on the same birth date differ in at least two places (sequence and
            # check digit), so only a one-keystroke gap to an *invalid* number is evidence of a mistype.
            cll.CustomLevel("(id18_l IS NULL OR id18_r IS NULL) AND damerau_levenshtein(id_raw_l, id_raw_r) <= 1",
                            "one keystroke from an invalid number"),
            cll.CustomLevel("id18_l IS NOT NULL AND id18_r IS NOT NULL", "two different valid numbers"),
            cll.ElseLevel(),
        ],
    )
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="姓名",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name").configure(tf_adjustment_column="name"),
            cll.CustomLevel("name_py_l = name_py_r", "same pinyin (homophone)"),
            cll.CustomLevel("name_fz_l = name_fz_r", "same fuzzy pinyin (zh/z, n/l, -ng/-n)"),
            cll.CustomLevel("surname_l = surname_r AND levenshtein(name_l, name_r) <= 1", "one character differs"),
            cll.CustomLevel("jaro_winkler_similarity(name_py_l, name_py_r) >= 0.88", "similar pinyin"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_description="出生日期",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel("damerau_levenshtein(dob_l, dob_r) <= 1", "one digit or a transposition"),
            cll.CustomLevel("abs(date_diff('day', CAST(dob_l AS DATE), CAST(dob_r AS DATE))) <= 31", "within a month"),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )
    sex = cl.ExactMatch("sex")
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="地址",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address"),
            cll.CustomLevel("jaro_winkler_similarity(address_l, address_r) >= 0.92", "nearly the same"),
            cll.CustomLevel("town_l = town_r AND jaro_winkler_similarity(address_l, address_r) >= 0.8",
                            "same township, similar"),
            cll.CustomLevel("town_l = town_r", "same township"),
            cll.ElseLevel(),
        ],
    )
    return [id_number, name, dob, sex, address]


def prediction_rules() -> list[str]:
    """Blocking rules: exact ID first, then demographic rules for records an exact ID did not settle.

    `settled` marks a record whose valid ID has a corroborated partner on the other side; keeping those out
    of the demographic rules is what keeps a million-by-million run to a few million comparisons.
    """
    open_ = "NOT l.settled AND NOT r.settled"
    return [
        "l.id18 = r.id18",
        f"{open_} AND l.dob = r.dob",
        f"{open_} AND l.name_py = r.name_py AND l.birth_year = r.birth_year",
        f"{open_} AND l.name_fz = r.name_fz AND l.address = r.address",
        # One mistyped digit leaves at least one of these three slices of the number intact.
        f"{open_} AND substr(l.id_raw, 1, 14) = substr(r.id_raw, 1, 14)",
        f"{open_} AND substr(l.id_raw, 11, 8) = substr(r.id_raw, 11, 8)",
        f"{open_} AND substr(l.id_raw, 1, 10) = substr(r.id_raw, 1, 10)"
        " AND substr(l.id_raw, 15, 4) = substr(r.id_raw, 15, 4)",
    ]


def training_rules() -> list[str]:
    """Blocking rules for expectation maximisation; each leaves the other comparisons free to be estimated."""
    return ["l.dob = r.dob AND l.sex = r.sex", "l.name_py = r.name_py AND l.town = r.town"]
