"""Validate a chunk of feed rows against its source's declared schema: vectorised, no per-row Python.

Input: every declared column as text plus `row_number`. Output: the good rows, typed, ready to load, and the
bad rows with the first failing field and every reason, for quarantine.

Two passes keep the common case cheap. Every row is typed with the canonical formats (YYYY-MM-DD, YYYY-MM)
and gets a yes/no check per column. Only the rows that fail (usually none) are parsed again with every
accepted format; those still failing get their messages. Canonical parsing is the first format of the
lenient parse, so both passes agree on every value the first one accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from doudi.core.ids import normalize_id_expr
from doudi.verification.sources import Column, Source

MAX_TEXT = {"name": 64, "address": 200}
DEFAULT_MAX_TEXT = 200
SEX_ALIASES = {"男": "M", "女": "F", "1": "M", "2": "F", "m": "M", "f": "F"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
_MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y%m")
_TYPES: dict[str, pl.DataType] = {"date": pl.Date(), "month": pl.Date(), "decimal": pl.Float64(), "int": pl.Int64()}


@dataclass
class Checked:
    """The outcome of validating one chunk."""

    good: pl.DataFrame  # row_number, id_number (normalised or null), id_given, then the declared columns, typed
    rejected: pl.DataFrame  # row_number, field, reason, raw (JSON text)


def column_type(c: Column) -> pl.DataType:
    """The Polars type a declared column is stored as (months as the first day of the month)."""
    return _TYPES.get(c.type, pl.Utf8())


def _text(c: Column) -> pl.Expr:
    s = pl.col(c.name).cast(pl.Utf8).str.strip_chars()
    return pl.when(s.str.len_chars() > 0).then(s).otherwise(None)


def _value(c: Column, raw: pl.Expr, *, lenient: bool) -> pl.Expr:
    """The typed value of the stripped text `raw` (null when absent or unreadable); `lenient` tries every format."""
    if c.type == "date":
        head = raw.str.slice(0, 10)  # tolerate a time part from spreadsheets: 2024-01-31 00:00:00
        formats = _DATE_FORMATS if lenient else _DATE_FORMATS[:1]
        return pl.coalesce([head.str.strptime(pl.Date, f, strict=False) for f in formats])
    if c.type == "month":
        canonical = pl.concat_str([raw.str.slice(0, 7), pl.lit("-01")]).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        # A whole date given for a month must itself exist: 2026-02-30 is refused, not stored as 2026-02.
        day_given = raw.str.contains(r"^\d{4}-\d{2}-\d{2}")
        day_ok = raw.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False).is_not_null()
        canonical = pl.when(day_given & ~day_ok).then(None).otherwise(canonical)
        if not lenient:
            return canonical
        return pl.coalesce([canonical] + [
            pl.concat_str([raw, pl.lit("01")]).str.strptime(pl.Date, f + "%d", strict=False) for f in _MONTH_FORMATS])
    if c.type == "decimal":
        return raw.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False).round(2)
    if c.type == "int":
        return raw.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    if c.type == "enum" and c.name == "sex":
        return raw.replace(SEX_ALIASES)
    return raw


def _problems(c: Column, raw: pl.Expr, value: pl.Expr) -> list[tuple[pl.Expr, pl.Expr]]:
    """(condition, message) for each way the column can be wrong, in the order they are reported."""
    present = raw.is_not_null()
    out: list[tuple[pl.Expr, pl.Expr]] = []
    if c.type == "date":
        out.append((present & value.is_null(), pl.format("'{}' 不是有效日期（应为 YYYY-MM-DD）", raw)))
    elif c.type == "month":
        out.append((present & value.is_null(), pl.format("'{}' 不是有效年月（应为 YYYY-MM）", raw)))
    elif c.type == "decimal":
        out.append((present & (value.is_null() | value.is_nan()), pl.format("'{}' 不是数字", raw)))
    elif c.type == "int":
        number = raw.cast(pl.Float64, strict=False)
        out.append((present & (number.is_null() | (number != number.floor())), pl.format("'{}' 不是整数", raw)))
    elif c.type == "enum":
        out.append((present & ~value.is_in(list(c.values)),
                    pl.format("'{}' 不在可选值 {} 中", raw, pl.lit("/".join(c.values)))))
    else:
        limit = MAX_TEXT.get(c.name, DEFAULT_MAX_TEXT)
        out.append((present & (raw.str.len_chars() > limit), pl.lit(f"超过 {limit} 个字符")))
    if c.required:
        out.append((~present, pl.lit("必填项为空")))
    if c.type in ("int", "decimal"):
        typed_ok = present & value.is_not_null()
        if c.min is not None:
            out.append((typed_ok & (value < c.min), pl.lit(f"小于下限 {c.min:g}")))
        if c.max is not None:
            out.append((typed_ok & (value > c.max), pl.lit(f"大于上限 {c.max:g}")))
    return out


def _checked_columns(source: Source) -> list[Column]:
    # The ID number is never a reason to reject a row: an invalid number is linkage evidence.
    return [c for c in source.columns if c.name != "id_number"]


def typed_rows(chunk: pl.DataFrame, source: Source, *, lenient: bool) -> pl.DataFrame:
    """Text rows typed: row_number, _id_raw, every checked column typed, and a `_bad_<column>` flag each."""
    # Staged so that every intermediate (stripped text, typed value) is computed once per column: an eager
    # select re-evaluates a sub-expression each time it is referenced.
    cols = _checked_columns(source)
    names = source.column_names
    text = chunk.select("row_number", *[pl.col(n).cast(pl.Utf8).str.strip_chars() for n in names])
    text = text.select("row_number", *[pl.when(pl.col(n).str.len_bytes() > 0).then(pl.col(n)).alias(n) for n in names])
    typed = text.with_columns(_value(c, pl.col(c.name), lenient=lenient).alias(f"_v_{c.name}") for c in cols)
    flags = [pl.any_horizontal([cond for cond, _ in _problems(c, pl.col(c.name), pl.col(f"_v_{c.name}"))])
             .fill_null(False).alias(f"_bad_{c.name}") for c in cols]
    return typed.select(pl.col("row_number"), pl.col("id_number").alias("_id_raw"),
                        *[pl.col(f"_v_{c.name}").cast(column_type(c)).alias(c.name) for c in cols], *flags)


def _reasons(rows: pl.DataFrame, source: Source) -> pl.DataFrame:
    """For rows known to be bad: the first failing field, every reason, and the row as it came in."""
    cols = _checked_columns(source)
    messages = []
    for c in cols:
        raw = _text(c)
        parts = [pl.when(cond).then(msg) for cond, msg in _problems(c, raw, _value(c, raw, lenient=True))]
        messages.append(pl.when(pl.coalesce(parts).is_not_null())
                        .then(pl.lit(c.label + "：") + pl.coalesce(parts)).alias(f"_e_{c.name}"))
    err_cols = [f"_e_{c.name}" for c in cols]
    raw = pl.struct([pl.col(c).cast(pl.Utf8) for c in rows.columns if c != "row_number"]).struct.json_encode()
    return rows.with_columns(messages).select(
        pl.col("row_number").cast(pl.Int64),
        pl.coalesce([pl.when(pl.col(e).is_not_null()).then(pl.lit(e[3:])) for e in err_cols]).alias("field"),
        pl.concat_str(err_cols, separator="; ", ignore_nulls=True).alias("reason"),
        raw.alias("raw"),
    ).sort("row_number")


def validate_chunk(chunk: pl.DataFrame, source: Source) -> Checked:
    """Type and check every declared column; never drops a row silently."""
    flags = [f"_bad_{c.name}" for c in _checked_columns(source)]
    typed = typed_rows(chunk, source, lenient=False)
    suspect = typed.select(pl.any_horizontal(flags)).to_series()
    good = typed.filter(~suspect).drop(flags)
    rejected = pl.DataFrame(schema={"row_number": pl.Int64, "field": pl.Utf8, "reason": pl.Utf8, "raw": pl.Utf8})
    if suspect.any():
        again = typed_rows(chunk.filter(suspect), source, lenient=True)
        still = again.select(pl.any_horizontal(flags)).to_series()
        if (~still).any():  # accepted in another format (2024/01/31, 202401, …): back in row order
            good = pl.concat([good, again.filter(~still).drop(flags)]).sort("row_number")
        if still.any():
            rejected = _reasons(chunk.filter(suspect).filter(still), source)
    id_number = normalize_id_expr(pl.col("_id_raw"))
    good = good.with_columns(id_number.alias("id_number")).select(
        pl.col("row_number").cast(pl.Int64),
        "id_number",
        pl.when(pl.col("id_number").is_null()).then(pl.col("_id_raw")).alias("id_given"),
        *[c.name for c in _checked_columns(source)],
    )
    return Checked(good=good, rejected=rejected)


def period_expr(source: Source) -> pl.Expr:
    """The date a typed feed row is about (its month's first day for monthly sources), or null."""
    return (pl.col(source.period) if source.period else pl.lit(None)).cast(pl.Date).alias("period")


def missing_required_columns(columns: list[str], source: Source) -> list[str]:
    """Declared required columns the file does not have at all."""
    return [c.name for c in source.columns if c.required and c.name not in columns]
