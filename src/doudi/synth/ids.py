"""Vectorised identifiers: resident ID numbers (GB 11643, as doudi.core.ids.build_id_number does one at a
time) and unified social credit codes (GB 32100) for business registrations."""

from __future__ import annotations

import numpy as np
import polars as pl

from doudi.core.ids import CHECK_CHARS, WEIGHTS

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: 31 characters, no I O Z S V
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check
SEQ_SLOTS = 500  # three-digit sequence codes per sex for one area and birth date


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) matrix of the decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers[None, :]) % 10


def assign_sequences(area: np.ndarray, birth: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sequence codes unique within (area, birth date), odd for men and even for women, in random order."""
    n = len(area)
    order = rng.permutation(n)
    frame = pl.DataFrame(
        {
            "i": order,
            "area": area[order].astype(np.int64),
            "birth": birth[order].astype("datetime64[D]").astype(np.int64),
            "male": male[order],
        }
    )
    ranked = frame.with_columns(rank=pl.int_range(pl.len()).over(["area", "birth", "male"]))
    if ranked.height and int(ranked["rank"].max()) >= SEQ_SLOTS:  # type: ignore[arg-type]
        raise ValueError("某一出生日期的人数超过顺序码容量（500/性别），请减少户数或分多个县生成")
    # A per-group offset so that sequence codes do not all start at 000/001.
    offset = (ranked["birth"].to_numpy() * 7919 + ranked["area"].to_numpy() * 31) % SEQ_SLOTS
    slot = (ranked["rank"].to_numpy() + offset) % SEQ_SLOTS
    seq = 2 * slot + ranked["male"].to_numpy().astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    out[ranked["i"].to_numpy()] = seq
    return out


def build_id_numbers(area: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> pl.Series:
    """18-digit ID numbers from six-digit area codes, birth dates (datetime64[D]) and sequence codes."""
    area_i = area.astype(np.int64)
    ymd = pl.Series(birth.astype("datetime64[D]")).dt.strftime("%Y%m%d")
    ymd_i = ymd.cast(pl.Int64).to_numpy()
    digits = np.hstack([_digits(area_i, 6), _digits(ymd_i, 8), _digits(seq, 3)])
    total = digits @ np.array(WEIGHTS, dtype=np.int64) % 11
    check = pl.Series(list(CHECK_CHARS)).gather(total)
    frame = pl.DataFrame(
        {
            "a": pl.Series(area_i).cast(pl.Utf8).str.zfill(6),
            "d": ymd,
            "s": pl.Series(seq).cast(pl.Utf8).str.zfill(3),
            "c": check,
        }
    )
    return frame.select(pl.concat_str(["a", "d", "s", "c"]).alias("id_number")).to_series()


def to_15_digit(number: str) -> str:
    """The first-generation 15-digit form of an 18-digit number born in the 1900s."""
    return number[:6] + number[8:17]


def credit_codes(area: np.ndarray, kind: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Valid unified social credit codes: 9 (市场监管) + type + area + organisation code + check, vectorised."""
    n = len(area)
    alphabet = np.array(list(USCC_CHARS))
    char_value = np.array([int(c) if c.isdigit() else ord(c) - 55 for c in USCC_CHARS])  # GB 11714 values
    body = rng.integers(0, len(USCC_CHARS), size=(n, 8))
    c9 = 11 - (char_value[body] @ np.array(ORG_WEIGHTS)) % 11
    c9_idx = np.where(c9 == 10, USCC_CHARS.index("X"), np.where(c9 == 11, 0, c9))
    type_idx = np.select([kind == "company", kind == "individual_business"], [1, 2], 3)
    area_digits = _digits(np.asarray(area).astype(np.int64), 6)
    first17 = np.hstack([np.full((n, 1), 9), type_idx[:, None], area_digits, body, c9_idx[:, None]])
    check = (31 - (first17 @ np.array(USCC_WEIGHTS)) % 31) % 31
    chars = np.hstack([first17, check[:, None]])
    columns = {f"c{j}": pl.Series(alphabet).gather(chars[:, j]) for j in range(18)}
    return pl.DataFrame(columns).select(pl.concat_str(list(columns)).alias("credit_code")).to_series()


def uscc_is_valid(code: str) -> bool:
    """True when a unified social credit code's check character is right (GB 32100)."""
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return code[17] == USCC_CHARS[(31 - total % 31) % 31]
