"""Shared pieces of the rule modules: reason codes (kept as bit masks for speed) and small expressions.

A rule module returns, per household or per member, an ``Int64`` mask of reason codes; the bits are
decoded into codes, Chinese text and legal references only when a decision is shown or stored, so
a million-household batch never builds a string per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Reason:
    """One reason code: why a rule held or failed, in Chinese, with the articles it rests on."""

    code: str
    text: str
    refs: tuple[str, ...] = ()


class Codes:
    """The ordered reason codes of one program; code i is bit i of the mask."""

    def __init__(self, program: str, reasons: Sequence[Reason]) -> None:
        if len(reasons) > 62:
            raise ValueError(f"{program}: too many reason codes for an Int64 mask")
        self.program = program
        self.reasons = tuple(reasons)
        self._bit = {r.code: 1 << i for i, r in enumerate(reasons)}
        self._by_code = {r.code: r for r in reasons}

    def bit(self, code: str) -> int:
        """The mask bit of a code (KeyError for an unknown code)."""
        return self._bit[code]

    def mask(self, pairs: Iterable[tuple[pl.Expr, str]]) -> pl.Expr:
        """An Int64 mask with the bit of each code whose condition holds (null counts as false)."""
        # bool → 0/1 times the bit is cheaper than when/then on millions of rows
        dtype = pl.Int32 if len(self.reasons) <= 31 else pl.Int64  # half the memory traffic when it fits
        terms = [cond.fill_null(False).cast(dtype) * self.bit(code) for cond, code in pairs]
        return pl.sum_horizontal(terms).cast(pl.Int64) if terms else pl.lit(0, pl.Int64)

    def decode(self, mask: int | None) -> list[Reason]:
        """The reasons whose bits are set, in declaration order."""
        if not mask:
            return []
        return [r for r in self.reasons if mask & self._bit[r.code]]

    def codes_expr(self, column: str) -> pl.Expr:
        """A comma-separated string of the codes set in an Int64 mask column (for storage)."""
        parts = [pl.when((pl.col(column) & self._bit[r.code]) != 0).then(pl.lit(r.code)) for r in self.reasons]
        return pl.concat_str(parts, separator=",", ignore_nulls=True)

    def get(self, code: str) -> Reason:
        """The reason with this code."""
        return self._by_code[code]


def standard(p: Mapping[str, Any], urban: pl.Expr | None = None) -> pl.Expr:
    """The 低保 standard of the household's hukou type (yuan per person per month)."""
    urban = pl.col("urban") if urban is None else urban
    return pl.when(urban).then(pl.lit(float(p["dibao.standard.urban"]))).otherwise(
        pl.lit(float(p["dibao.standard.rural"])))


def by_hukou(p: Mapping[str, Any], prefix: str, default: float | None = None) -> pl.Expr:
    """A per-hukou-type parameter `<prefix>.urban` / `<prefix>.rural` as an expression."""
    u, r = p.get(f"{prefix}.urban", default), p.get(f"{prefix}.rural", default)
    if u is None or r is None:
        return pl.lit(None, pl.Float64)
    return pl.when(pl.col("urban")).then(pl.lit(float(u))).otherwise(pl.lit(float(r)))


def age_on(birth: pl.Expr, on: date) -> pl.Expr:
    """Age in whole years on `on` (a birthday on that day counts)."""
    month_day = birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32)
    before_birthday = month_day > (on.month * 100 + on.day)
    return (pl.lit(on.year, pl.Int32) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)).cast(pl.Int32)


def months_since(start: pl.Expr, on: date) -> pl.Expr:
    """Whole months from `start` to `on` (null start counts as 0)."""
    months = ((pl.lit(on.year, pl.Int32) - start.dt.year().cast(pl.Int32)) * 12
              + pl.lit(on.month, pl.Int32) - start.dt.month().cast(pl.Int32)
              - (start.dt.day().cast(pl.Int32) > on.day).cast(pl.Int32))
    return months.fill_null(0)


def tier_value(x: pl.Expr, tiers: list[dict[str, Any]], *, bound: str, out: str, ascending: bool) -> pl.Expr:
    """Look `x` up in a tier table: the first tier whose bound admits x gives `out`.

    ascending=True: tiers are ``x <= bound`` (null bound = no limit); False: ``x >= bound``.
    """
    expr: pl.Expr = pl.lit(None, pl.Float64)
    for tier in reversed(tiers):  # build the chain from the last tier so the first match wins
        limit = tier.get(bound)
        cond = pl.lit(True) if limit is None else (x <= float(limit) if ascending else x >= float(limit))
        expr = pl.when(cond).then(pl.lit(float(tier[out]))).otherwise(expr)
    return expr


def money(expr: pl.Expr) -> pl.Expr:
    """Round to fen (2 decimals), the unit of payment."""
    return expr.round(2)


def null_safe(expr: pl.Expr, default: Any = False) -> pl.Expr:
    """Fill nulls with a default (false for conditions)."""
    return expr.fill_null(default)
