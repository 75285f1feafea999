"""Normalise person records for linkage: ID numbers, Chinese names (pinyin and fuzzy pinyin), dates, addresses.

Everything here is a vectorised Polars expression, so preparing a million records takes about a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import polars as pl
from pypinyin import lazy_pinyin

from doudi.core.ids import normalize_id_expr

PERSON_COLUMNS = ("record_id", "name", "id_number", "birth_date", "sex", "address")

# Regional and careless confusions of Mandarin initials and finals (模糊音): zh/z, ch/c, sh/s, n/l, -ng/-n.
_FUZZY_RULES = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ang", "an"), ("eng", "en"), ("ing", "in"), ("l", "n"))
_SEX_ALIASES = {"M": "M", "F": "F", "男": "M", "女": "F", "1": "M", "2": "F", "MALE": "M", "FEMALE": "F"}
# Leading province / prefecture / county names carry no information inside one county and vary between agencies.
# The name classes exclude 社/镇/乡/街/村 so that "…社区" or a township is never taken for a county.
_ADDRESS_PREFIX = (r"^(?:[^省]{2,7}省|[^自治区]{2,6}自治区)?(?:[^市州盟镇乡街村社]{2,6}(?:市|州|盟))?"
                   r"(?:[^县市区镇乡街村社]{1,6}(?:县|市|区))?")


@lru_cache(maxsize=65536)
def _sound(char: str) -> str:
    return str(lazy_pinyin(char)[0])


def _fuzzy(sound: str) -> str:
    for a, b in _FUZZY_RULES:
        sound = sound.replace(a, b)
    return sound


def pinyin_table(chars: Iterable[str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """CJK ideographs with their toneless pinyin and fuzzy-pinyin key (one reading per char): the given
    characters, or every CJK unified ideograph.

    One context-free reading per character is deliberate: both sides of a comparison go through the same
    table, so homophone variants (伟/玮/炜 → wei) meet even where the table's reading of a heteronym is not
    the one the family uses. Only the characters present are looked up (a million names use a few thousand).
    """
    if chars is None:
        chars = [chr(c) for c in range(0x4E00, 0x9FA6)] + [chr(c) for c in range(0x3400, 0x4DB6)]
    han = sorted(c for c in set(chars) if is_cjk(c))
    sounds = [_sound(c) for c in han]
    return han, sounds, [_fuzzy(s) for s in sounds]


def clean_name_expr(col: str = "name") -> pl.Expr:
    """Strip spaces (including full-width), middle dots and stray punctuation; fold full-width letters."""
    return (
        pl.col(col).cast(pl.Utf8).str.replace_all(r"[\s\u3000·•・.．\-—_]", "")
        .str.to_uppercase()
    )


def pinyin_expr(name: pl.Expr, *, fuzzy: bool = False, chars: Iterable[str] | None = None) -> pl.Expr:
    """Toneless pinyin of a cleaned name (or its fuzzy key), syllables concatenated; `chars`: the characters
    the names use (every CJK ideograph when not given)."""
    han, sounds, fuzzy_keys = pinyin_table(chars)
    return name.str.replace_many(han, fuzzy_keys if fuzzy else sounds)


def clean_address_expr(col: str = "address") -> pl.Expr:
    """Drop whitespace, punctuation and the leading province/prefecture/county names; full-width digits folded."""
    s = pl.col(col).cast(pl.Utf8).str.replace_all(r"[\s\u3000,，、()（）#\-]", "")
    s = s.str.replace_many([chr(0xFF10 + i) for i in range(10)], [str(i) for i in range(10)])
    s = s.str.replace(_ADDRESS_PREFIX, "")
    return pl.when(s.str.len_chars() > 0).then(s).otherwise(None)


def _clean_id_expr(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.strip_chars().str.to_uppercase().str.replace_all(r"[\s\u3000\-]", "")


def _raw_id_expr(col: str) -> pl.Expr:
    """The ID as typed, cleaned but not validated: kept so that a mistyped number still counts as evidence."""
    s = _clean_id_expr(col)
    # A first-generation 15-digit number is compared in its 18-digit form (check digit left as '?').
    s = pl.when(s.str.contains(r"^\d{15}$")).then(s.str.slice(0, 6) + "19" + s.str.slice(6, 9) + "?").otherwise(s)
    return pl.when(s.str.len_chars() >= 10).then(s).otherwise(None)


def _date_expr(col: str) -> pl.Expr:
    s = pl.col(col).cast(pl.Utf8).str.strip_chars().str.replace_all(r"[/.年月]", "-").str.replace(r"日$", "")
    d = pl.coalesce(
        s.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        s.str.strptime(pl.Date, "%Y%m%d", strict=False),
    )
    return d


def _names(frame: pl.DataFrame) -> pl.DataFrame:
    """Pinyin keys of each distinct cleaned name (a million records carry a few hundred thousand names)."""
    names = frame.select(pl.col("name").unique()).drop_nulls()
    chars = names["name"].str.split("").explode().unique().to_list()
    return names.with_columns(
        pinyin_expr(pl.col("name"), chars=chars).alias("name_py"),
        pinyin_expr(pl.col("name"), fuzzy=True, chars=chars).alias("name_fz"),
        pl.col("name").str.slice(0, 1).alias("surname"),
    ).with_columns(
        pinyin_expr(pl.col("surname"), chars=chars).alias("surname_py"),
        pinyin_expr(pl.col("name").str.slice(1), chars=chars).alias("given_py"),
    )


def prepare_persons(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the linkage columns to a frame with record_id, name, id_number, birth_date, sex, address.

    What the ID number proves is used beside the record's own fields:
    - `id18`: the number when it passes every GB 11643 check (a 15-digit number in its 18-digit form);
      `id_form` '18' or '15' (a first-generation number has no check digit, so it proves less);
    - a missing birth date or sex is taken from a valid number (and a missing birth date from an invalid one
      whose date part still parses: a mistype usually hits one digit elsewhere); when the record's own
      value disagrees with the valid number's, `dob_conflict` / `sex_conflict` say so;
    - `id_area`: the first six digits, the area of first registration (a comparison beside the address).
    """
    missing = [c for c in PERSON_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
    birth = frame["birth_date"]
    cleaned = _clean_id_expr("id_number")
    # Lazy, so that the cleaned number (used three times) and other shared parts are computed once.
    lazy = frame.lazy().select(
        pl.col("record_id").cast(pl.Utf8),
        clean_name_expr("name").alias("name"),
        normalize_id_expr("id_number").alias("id18"),
        _raw_id_expr("id_number").alias("id_raw"),
        pl.when(cleaned.str.contains(r"^\d{15}$")).then(pl.lit("15"))
        .when(cleaned.str.len_chars() == 18).then(pl.lit("18")).alias("id_form"),
        (_date_expr("birth_date") if birth.dtype != pl.Date else pl.col("birth_date")).alias("_dob"),
        pl.col("sex").cast(pl.Utf8).str.strip_chars().str.to_uppercase()
        .replace_strict(_SEX_ALIASES, default=None).alias("_sex"),
        clean_address_expr("address").alias("address"),
    )
    id_src = pl.coalesce(pl.col("id18"), pl.col("id_raw"))
    id_birth = id_src.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    valid_birth = pl.col("id18").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    id_sex = pl.when(pl.col("id18").is_not_null()).then(
        pl.when(pl.col("id18").str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).then(pl.lit("M"))
        .otherwise(pl.lit("F"))
    )
    lazy = lazy.with_columns(
        pl.coalesce(pl.col("_dob"), id_birth).alias("dob_date"),
        pl.coalesce(pl.col("_sex"), id_sex).alias("sex"),
        (pl.col("_dob") != valid_birth).fill_null(False).alias("dob_conflict"),
        (pl.col("_sex") != id_sex).fill_null(False).alias("sex_conflict"),
        pl.when(pl.col("name").str.len_chars() > 0).then(pl.col("name")).otherwise(None).alias("name"),
        id_src.str.slice(0, 6).alias("id_area"),
    ).drop("_dob", "_sex")
    df = lazy.with_columns(
        pl.when(pl.col("id_area").str.contains(r"^\d{6}$")).then(pl.col("id_area")).alias("id_area"),
        pl.col("dob_date").dt.strftime("%Y-%m-%d").alias("dob"),
        pl.col("dob_date").dt.year().cast(pl.Utf8).alias("birth_year"),
        pl.col("dob_date").cast(pl.Int32).alias("dob_day"),
        pl.col("address").str.extract(r"^(.*?(?:街道|镇|乡))", 1).alias("town"),
    ).drop("dob_date").collect()
    return df.join(_names(df), on="name", how="left")


def is_cjk(text: str) -> bool:
    """True when the text holds at least one CJK ideograph."""
    return re.search(r"[\u3400-\u9fff]", text) is not None
