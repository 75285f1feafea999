"""Resident ID numbers (居民身份证号码) per GB 11643: validation, 15→18 conversion and vectorised checks."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files

import polars as pl

from doudi.core import clock
from doudi.core.errors import DoudiError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11, per GB 11643-1999 §8.2


class IdNumberError(DoudiError):
    """An ID number failed one specific check; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IdInfo:
    """What an ID number says about its holder."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    area_code: str  # the six-digit address code at issue


@lru_cache
def province_codes() -> frozenset[str]:
    """Two-digit province codes of GB/T 2260."""
    text = files("doudi.areas.data").joinpath("provinces.csv").read_text(encoding="utf-8")
    return frozenset(row["code"][:2] for row in csv.DictReader(text.splitlines()))


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def convert_15_to_18(number: str) -> str:
    """Convert a first-generation 15-digit number (YYMMDD, 20th century) to 18 digits."""
    if len(number) != 15 or not number.isdigit():
        raise IdNumberError("format", f"15 位身份证号只能由数字组成: {number!r}")
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_char(first17)


def parse_id_number(raw: str, *, today: date | None = None) -> IdInfo:
    """Validate and normalise an ID number; raise IdNumberError naming the failed check."""
    number = (raw or "").strip().upper().replace(" ", "")
    if not number:
        raise IdNumberError("missing", "身份证号为空")
    if len(number) == 15:
        number = convert_15_to_18(number)
    if len(number) != 18:
        raise IdNumberError("length", f"身份证号应为 18 位（或 15 位旧号），实际 {len(number)} 位")
    if not (number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        raise IdNumberError("format", "身份证号前 17 位须为数字，末位为数字或 X")
    if number[:2] not in province_codes():
        raise IdNumberError("area", f"地址码 {number[:6]} 的省级代码 {number[:2]} 不存在")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("birth_date", f"出生日期 {number[6:14]} 不是有效日期") from None
    if born.year < 1900 or born > (today or clock.today()):
        raise IdNumberError("birth_date", f"出生日期 {born.isoformat()} 不在合理范围内")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise IdNumberError("checksum", f"校验码应为 {expected}，实际为 {number[17]}")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, birth_date=born, sex=sex, area_code=number[:6])


def is_valid_id(raw: str) -> bool:
    """True when the number passes every GB 11643 check."""
    try:
        parse_id_number(raw)
    except IdNumberError:
        return False
    return True


def normalize_id_series(raw: pl.Series) -> pl.Series:
    """Vectorised normalisation of a column of ID numbers; see `normalize_id_expr`."""
    # Staged with_columns so each intermediate is computed once (one expression tree would re-evaluate the
    # cleaned text for each of the 17 digits); the checksum uses integer arithmetic on the 17-digit number.
    s = pl.col("s")
    f = raw.cast(pl.Utf8).to_frame("s").select(
        s.str.strip_chars().str.to_uppercase().str.replace_all(" ", "", literal=True))
    f = f.select(pl.when(s.str.len_bytes() == 15)
                 .then(pl.concat_str([s.str.slice(0, 6), pl.lit("19"), s.str.slice(6, 9), pl.lit("?")]))
                 .otherwise(s).alias("s"))
    f = f.with_columns(s.str.slice(0, 17).alias("first17"))
    f = f.with_columns(pl.col("first17").cast(pl.Int64, strict=False).alias("n"))
    total = pl.sum_horizontal([(pl.col("n") // 10 ** (16 - i) % 10) * w for i, w in enumerate(WEIGHTS)]) % 11
    f = f.with_columns(total.cast(pl.UInt8).replace_strict(list(range(11)), list(CHECK_CHARS), return_dtype=pl.Utf8,
                                                           default=None).alias("check"))
    last = s.str.slice(17, 1)
    valid = (
        s.str.contains(r"^\d{17}[\dX?]$")
        & ((last == pl.col("check")) | (last == "?"))
        & s.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False).is_not_null()
        & s.str.slice(0, 2).is_in(sorted(province_codes()))
    )
    out = f.select(pl.when(valid).then(pl.concat_str([pl.col("first17"), pl.col("check")])).alias("id"))
    return out.to_series().alias(raw.name)


def normalize_id_expr(col: str | pl.Expr) -> pl.Expr:
    """Vectorised normalisation: strip, upper-case, 15→18 conversion; invalid numbers become null."""
    raw = pl.col(col) if isinstance(col, str) else col
    return raw.map_batches(normalize_id_series, return_dtype=pl.Utf8, is_elementwise=True)


def build_id_number(area_code: str, birth: date, sequence: int, sex: str) -> str:
    """Compose a valid 18-digit number; the sequence's parity is adjusted to the sex (odd = male)."""
    seq = sequence % 1000
    if (seq % 2 == 1) != (sex == "M"):
        seq = (seq + 1) % 1000 if seq < 999 else seq - 1
    first17 = f"{area_code[:6]}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)
