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


# The kinds of ID-number comparison, as labelled in the model (keys of linkage.yaml) and shown to reviewers.
ID_EQUAL = "equal"
ID_OLD_NEW = "15/18-digit pair of one number"
ID_TYPO = "one edit apart, one invalid"
ID_BOTH_VALID = "both valid and different"
ID_OTHER = "All other comparisons"
ID_MISSING = "missing"
ID_KINDS = (ID_EQUAL, ID_OLD_NEW, ID_TYPO, ID_BOTH_VALID, ID_OTHER)  # gamma 5 … 1 (0 is ID_MISSING)

# Chinese wording of every comparison and level, for the review queue.
COMPARISON_LABELS = {"id_number": "身份证号", "name": "姓名", "dob": "出生日期", "sex": "性别", "address": "地址",
                     "id_area": "身份证地址码"}
LEVEL_LABELS = {
    "id_number": {ID_EQUAL: "号码相同", ID_OLD_NEW: "15 位旧号与 18 位新号为同一号码",
                  ID_TYPO: "一方号码无效且只差一位（录入错误）", ID_BOTH_VALID: "两个不同的有效号码",
                  ID_OTHER: "号码不同（一方无效，相差多位）", ID_MISSING: "一方或双方缺失"},
    "name": {"Exact match on name": "相同", "same pinyin (homophone)": "同音字",
             "same fuzzy pinyin (zh/z, n/l, -ng/-n)": "近音（模糊音）", "one character differs": "一字之差",
             "similar pinyin": "拼音相近",
             "All other comparisons": "不同", ID_MISSING: "缺失"},
    "dob": {"Exact match on dob": "相同", "one digit or a transposition": "一位数字不同或两位颠倒",
            "within a month": "相差一个月内", "same year": "同年", "All other comparisons": "不同",
            ID_MISSING: "缺失"},
    "sex": {"Exact match on sex": "相同", "All other comparisons": "不同", ID_MISSING: "缺失"},
    "address": {"Exact match on address": "相同", "nearly the same": "几乎相同", "same township, similar":
                "同乡镇（街道）且相近", "same township": "同乡镇（街道）", "All other comparisons": "不同",
                ID_MISSING: "缺失"},
    "id_area": {"same county code": "同一县级地址码", "same prefecture code": "同一地市", "All other comparisons":
                "不同", ID_MISSING: "缺失"},
}


# Records whose own fields disagree with what their valid ID number says (prepare.py flags them).
CONFLICT_LABELS = {"dob_left": "部门记录的出生日期", "sex_left": "部门记录的性别", "dob_right": "候选人员的出生日期",
                   "sex_right": "候选人员的性别"}


def one_edit_sql(a: str, b: str, dialect: str = "duckdb") -> str:
    """SQL true when two strings are at most one edit apart (substitution, adjacent transposition, insertion,
    deletion), i.e. Damerau-Levenshtein distance ≤ 1.

    DuckDB's edit distance costs microseconds a pair; for strings of equal length the Hamming distance decides
    (≤ 1, or 2 that a transposition explains), so the edit distance runs only on the few pairs left. The
    nested CASE makes DuckDB evaluate each branch only on the rows that reach it. Spark has no Hamming
    function: it gets the plain edit distance, which gives the same level.
    """
    if dialect != "duckdb":
        return f"damerau_levenshtein({a}, {b}) <= 1"
    return (f"(CASE WHEN length({a}) = length({b}) THEN (CASE WHEN hamming({a}, {b}) <= 1 THEN true "
            f"WHEN hamming({a}, {b}) = 2 THEN damerau_levenshtein({a}, {b}) <= 1 ELSE false END) "
            f"WHEN abs(length({a}) - length({b})) = 1 THEN damerau_levenshtein({a}, {b}) <= 1 ELSE false END)")


def comparisons(dialect: str = "duckdb") -> list[Any]:
    """The comparisons of a Chinese person record pair, most specific level first (in `dialect`'s SQL where the
    fastest form differs: 'duckdb' or 'spark')."""
    # Imported here: Splink (and its DuckDB backend) is loaded only when records are linked.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    # GB 11643's check digit catches every single substitution and adjacent transposition, so two *valid*
    # 18-digit numbers that differ are two people (or one registered twice), never a typo: their own level,
    # whose weight is learned. A 15-digit number has no check digit and proves less.
    one_edit = (f"{one_edit_sql('id_raw_l', 'id_raw_r', dialect)} OR ((id_form_l = '15' OR id_form_r = '15') AND "
                "damerau_levenshtein(substr(id_raw_l, 1, 17), substr(id_raw_r, 1, 17)) <= 1)")
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_description="身份证号",
        comparison_levels=[
            cll.CustomLevel("id_raw_l IS NULL OR id_raw_r IS NULL", ID_MISSING).configure(is_null_level=True),
            cll.CustomLevel("id18_l = id18_r AND id_form_l = id_form_r", ID_EQUAL),
            cll.CustomLevel("id18_l = id18_r", ID_OLD_NEW),
            cll.CustomLevel(f"(id18_l IS NULL OR id18_r IS NULL OR id_form_l = '15' OR id_form_r = '15') "
                            f"AND ({one_edit})", ID_TYPO),
            cll.CustomLevel("id18_l IS NOT NULL AND id18_r IS NOT NULL AND id_form_l = '18' AND id_form_r = '18'",
                            ID_BOTH_VALID),
            cll.ElseLevel(),
        ],
    )
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="姓名",
        comparison_levels=[
            cll.CustomLevel("name_l IS NULL OR name_r IS NULL", ID_MISSING).configure(is_null_level=True),
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
            cll.CustomLevel("dob_l IS NULL OR dob_r IS NULL", ID_MISSING).configure(is_null_level=True),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(one_edit_sql("dob_l", "dob_r", dialect), "one digit or a transposition"),
            cll.CustomLevel("abs(dob_day_l - dob_day_r) <= 31", "within a month"),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_description="性别",
        comparison_levels=[
            cll.CustomLevel("sex_l IS NULL OR sex_r IS NULL", ID_MISSING).configure(is_null_level=True),
            cll.ExactMatchLevel("sex"),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="地址",
        comparison_levels=[
            cll.CustomLevel("address_l IS NULL OR address_r IS NULL", ID_MISSING).configure(is_null_level=True),
            cll.ExactMatchLevel("address"),
            cll.CustomLevel("jaro_winkler_similarity(address_l, address_r) >= 0.92", "nearly the same"),
            cll.CustomLevel("town_l = town_r AND jaro_winkler_similarity(address_l, address_r) >= 0.8",
                            "same township, similar"),
            cll.CustomLevel("town_l = town_r", "same township"),
            cll.ElseLevel(),
        ],
    )
    # The area of first registration the number encodes, beside the address the record gives.
    id_area = cl.CustomComparison(
        output_column_name="id_area",
        comparison_description="身份证地址码",
        comparison_levels=[
            cll.CustomLevel("id_area_l IS NULL OR id_area_r IS NULL", ID_MISSING).configure(is_null_level=True),
            cll.CustomLevel("id_area_l = id_area_r", "same county code"),
            cll.CustomLevel("substr(id_area_l, 1, 4) = substr(id_area_r, 1, 4)", "same prefecture code"),
            cll.ElseLevel(),
        ],
    )
    return [id_number, name, dob, sex, address, id_area]


def prediction_rules() -> list[str]:
    """Blocking rules: exact ID first, then demographic rules for records an exact ID did not settle.

    `settled` marks a record whose valid ID has a corroborated partner on the other side; keeping those out
    of the demographic rules, and pairing a birth date with the surname's (or given name's) sound rather
    than alone, is what keeps a million-by-million run under ten million comparisons.
    """
    open_ = "NOT l.settled AND NOT r.settled"
    return [
        "l.id18 = r.id18",
        f"{open_} AND l.dob = r.dob AND l.surname_py = r.surname_py",
        f"{open_} AND l.dob = r.dob AND l.given_py = r.given_py",
        f"{open_} AND l.name_py = r.name_py AND l.birth_year = r.birth_year",
        f"{open_} AND l.name_fz = r.name_fz AND l.address = r.address",
        f"{open_} AND l.name_py = r.name_py AND l.town = r.town",
        f"{open_} AND l.name_py = r.name_py AND substr(l.dob, 6, 5) = substr(r.dob, 6, 5)",  # the year mistyped
        # The same name where a birth date or a number is missing on one side.
        f"{open_} AND l.name = r.name AND (l.dob IS NULL OR r.dob IS NULL OR l.id_raw IS NULL OR r.id_raw IS NULL)",
        # A mistyped ID the demographic rules miss (its own birth date and name damaged too): the number's
        # month, day and sequence, or its date with the surname's sound, survive most single edits.
        f"{open_} AND substr(l.id_raw, 11, 8) = substr(r.id_raw, 11, 8)",
        f"{open_} AND substr(l.id_raw, 1, 14) = substr(r.id_raw, 1, 14) AND l.surname_py = r.surname_py",
        f"{open_} AND substr(l.id_raw, 1, 10) = substr(r.id_raw, 1, 10)"
        " AND substr(l.id_raw, 15, 4) = substr(r.id_raw, 15, 4) AND l.surname_py = r.surname_py",
    ]


def training_rules() -> list[str]:
    """Blocking rules for expectation maximisation of the ID comparison (the other comparisons' m come from
    the pairs an equal valid ID proves); each leaves the ID comparison free to be estimated."""
    return ["l.name_py = r.name_py AND l.dob = r.dob"]


def describe_evidence(evidence: dict[str, Any] | None, id_kind: str = "") -> list[tuple[str, str]]:
    """The evidence of a pair in Chinese, comparison by comparison: [(身份证号, 两个不同的有效号码), …]."""
    evidence = dict(evidence or {})
    if id_kind and "id_number" not in evidence:
        evidence["id_number"] = id_kind
    out = []
    for key, label in COMPARISON_LABELS.items():
        if key in evidence:
            level = str(evidence[key] or ID_MISSING)
            out.append((label, LEVEL_LABELS.get(key, {}).get(level, level)))
    conflicts = [c for c in str(evidence.get("id_conflict") or "").split(",") if c in CONFLICT_LABELS]
    if conflicts:
        out.append(("与身份证号不符", "；".join(CONFLICT_LABELS[c] for c in conflicts)))
    return out
