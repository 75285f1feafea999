"""Shared pieces of the rule modules: the program protocol, typed parameters, reason codes (kept as bit
masks for speed) and small expressions.

A rule module returns, per household or per member, an ``Int64`` mask of reason codes; the bits are
decoded into codes, Chinese text and legal references only when a decision is shown or stored, so
a million-household batch never builds a string per row. A reason names reference *topics*
(``dibao.income``); the texts a topic cites are dated pack data (``refs.dibao.income``), so a decision
cites the texts in force on its date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from doudi.policy.resolved import MissingParameter, PackError, Resolved


@dataclass(frozen=True)
class Reason:
    """One reason code: why a rule held or failed, in Chinese, with the reference topics it rests on."""

    code: str
    text: str
    refs: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class ParamSpec:
    """A parameter a rule reads: its pack key, its kind, and whether it may be out of force (None)."""

    key: str
    kind: str  # number | int | bool | str | list | dict | date
    optional: bool = False


def param(key: str, kind: str, *, optional: bool = False) -> Any:
    """Declare a typed parameter field of a :class:`Params` dataclass."""
    return field(metadata={"spec": ParamSpec(key, kind, optional)})


def start_of(key: str) -> Any:
    """Declare a date field: the first date from which the parameter `key` has a truthy value (None if never)."""
    return field(metadata={"start_of": key})


def provisional(*keys: str) -> Any:
    """Declare a bool field that is true when any of these parameters' values in force is provisional (待确认)."""
    return field(metadata={"provisional_of": keys})


_KINDS: dict[str, tuple[type, ...]] = {"number": (int, float), "int": (int,), "bool": (bool,), "str": (str,),
                                      "list": (list,), "dict": (dict,), "date": (date,)}


class Params:
    """A program's parameters: a frozen dataclass whose fields are declared with :func:`param`.

    ``read`` takes every value from the pack values in force, checks its kind, and fails loudly when a
    required one is not in force or a key is not defined by any pack; nothing has a default in Python.
    An optional parameter is None on a date where the packs say it is not (yet) in force.
    """

    _cache: ClassVar[dict[tuple[Any, ...], Any]] = {}

    @classmethod
    def specs(cls) -> tuple[ParamSpec, ...]:
        """The declared parameters."""
        return tuple(f.metadata["spec"] for f in fields(cls) if "spec" in f.metadata)  # type: ignore[arg-type]

    @classmethod
    def read(cls, p: Resolved) -> Self:
        """The typed values in force (cached per pack version and date)."""
        key = (cls, p.region, p.on, p.version)
        hit = Params._cache.get(key)
        if hit is None:
            if len(Params._cache) > 4096:
                Params._cache.clear()
            hit = Params._cache[key] = cls._read(p)
        return hit

    @classmethod
    def _read(cls, p: Resolved) -> Self:
        values: dict[str, Any] = {}
        missing: list[str] = []
        for f in fields(cls):  # type: ignore[arg-type]
            if "provisional_of" in f.metadata:
                values[f.name] = any(k in p.provisional for k in f.metadata["provisional_of"])
                continue
            if "start_of" in f.metadata:
                values[f.name] = p.starts.get(f.metadata["start_of"])
                continue
            spec: ParamSpec = f.metadata["spec"]
            if p.defined and spec.key not in p.defined:
                raise PackError(f"{p.region}: 参数包未定义参数 {spec.key}")
            value = p.data.get(spec.key)
            if value is None:
                if not spec.optional:
                    missing.append(spec.key)
                values[f.name] = None
                continue
            if not isinstance(value, _KINDS[spec.kind]) or (isinstance(value, bool) and spec.kind not in {"bool"}):
                raise PackError(f"{p.region}: 参数 {spec.key} 在 {p.on} 的值 {value!r} 类型应为 {spec.kind}")
            values[f.name] = float(value) if spec.kind == "number" else value  # type: ignore[arg-type]
        if missing:
            raise MissingParameter(f"{p.region}: 参数 {'、'.join(missing)} 在 {p.on} 没有有效值")
        return cls(**values)


def missing_parameters(classes: Iterable[type[Params]], p: Resolved) -> list[str]:
    """Required parameters of the given sets that have no value in force (for one clear error per region)."""
    return sorted({s.key for c in classes for s in c.specs() if not s.optional and p.data.get(s.key) is None})


# ------------------------------------------------------------------------------------- program protocol
@dataclass(frozen=True)
class Within:
    """A stage step that sums member expressions over each household and gives the totals back to every
    member (name → (expression, 'sum' | 'max' | 'or')); the engine does it with its sorted segments."""

    sums: Callable[[Any], Mapping[str, tuple[pl.Expr, str]]]


@dataclass(frozen=True)
class Direct:
    """A stage step that depends on the data, not only on the parameters: ``fn(frame, params, on, segments)``
    runs as it is (numpy on the rows that need it, household sums through the segments) instead of being
    recorded as expressions. The single case and the batch still run the same function."""

    fn: Callable[..., pl.DataFrame]


Pairs = list[tuple[pl.Expr, str]]  # (condition, reason code)


class SparseMask:
    """A stage step that sets a reason mask mostly needed for few members: ``parts(params)`` gives the pairs
    checked on every row (or none), the rows the other pairs concern, and those pairs. A batch evaluates the
    other pairs on those rows alone (:meth:`Codes.sparse_mask`); a few rows (a single case) record the same
    expressions with the stage's other steps, so they are built once per pack and run in the same query.
    Either way the mask is ``every-row pairs | (rows ? other pairs : 0)``."""

    def __init__(self, codes: Codes, column: str, parts: Callable[[Any], tuple[Pairs, pl.Expr, Pairs]]) -> None:
        self.codes, self.column, self.parts = codes, column, parts

        def recorded(df: Any, q: Any, on: date) -> Any:
            del on
            every, rows, pairs = parts(q)
            mask = pl.when(rows.fill_null(False)).then(codes.mask(pairs)).otherwise(0)
            return df.with_columns((codes.mask(every) | mask if every else mask).alias(column))

        # Recorded plans are cached by function: one function per step, named after its parts.
        recorded.__module__, recorded.__qualname__ = parts.__module__, f"{parts.__qualname__}.<recorded>"
        self.recorded = recorded

    def apply(self, df: pl.DataFrame, q: Any) -> pl.DataFrame:
        """The mask of a batch, the other pairs evaluated on their rows only."""
        every, rows, pairs = self.parts(q)
        mask = self.codes.sparse_mask(df, rows, pairs)
        if every:
            mask = df.select(self.codes.mask(every)).to_series() | mask
        return df.with_columns(mask.alias(self.column))


@dataclass(frozen=True)
class MemberOutput:
    """How a per-person program names its member decisions (for explanations and stored entitlements)."""

    eligible: str
    amount: str
    level: Callable[[], pl.Expr]
    reasons: str | None = None
    care_hours: Callable[[], pl.Expr] | None = None
    shown: Callable[[Mapping[str, Any]], bool] = lambda m: True  # which members' reasons the JSON lists


HOUSEHOLD_OUTPUTS = ("eligible", "amount", "level", "persons", "reasons", "in_force")
STAGES = ("persons", "choices", "unit", "members", "settle", "household")


@dataclass(frozen=True)
class Program:
    """Everything the engine, the explanations and the stored decisions need to know about one program.

    - ``stages``: the program's rule functions by pipeline stage (members: persons, choices, members,
      settle; households: unit, household); a stage is a function ``(frame, params, on) → frame`` or a
      sequence of such functions and :class:`Within` steps. Within a stage, programs run in ``order``.
    - ``unit_sums`` / ``to_members`` / ``person_sums``: the member → household sums before the ``unit``
      stage (given the params: a rule not in force needs none), the household columns given back to members
      after it, and the sums before ``household``.
    - The ``household`` stage must leave ``<key>_eligible, _amount, _level, _persons, _reasons, _in_force``.
    """

    key: str
    label: str
    order: int
    codes: Codes
    params: type[Params]
    refs: tuple[str, ...]
    stages: Mapping[str, Any]
    trace: Callable[[Mapping[str, Any], list[dict[str, Any]], Any, date], dict[str, Any]]
    member_output: MemberOutput | None = None
    member_context: Callable[[Mapping[str, Any], Any, list[dict[str, Any]]], dict[str, Any]] | None = None
    details: Callable[[Mapping[str, Any], Any, date], dict[str, Any]] | None = None
    member_details: Callable[[Mapping[str, Any], Any], dict[str, Any]] | None = None
    unit_sums: Callable[[Any], Mapping[str, tuple[pl.Expr, str]]] | None = None
    to_members: Mapping[str, str] = field(default_factory=dict)
    person_sums: Callable[[Any], Mapping[str, tuple[pl.Expr, str]]] | None = None


# Below this many rows a sparse mask is computed over every row at once: the same values, in one query
# instead of three (a single household has a handful of members).
SPARSE_FROM = 1024


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
        # bool → 0/1 times the bit is cheaper than when/then on millions of rows. A null condition stays null
        # and sum_horizontal leaves nulls out, so no fill_null is needed: a third fewer expression nodes,
        # which is what a single case pays for (Polars plans each node on every call).
        dtype = pl.Int32 if len(self.reasons) <= 31 else pl.Int64  # half the memory traffic when it fits
        # A typed bit: a bare int is a 'dynamic' literal whose type Polars works out on every call.
        terms = [cond.cast(dtype) * pl.lit(self.bit(code), dtype) for cond, code in pairs]
        return pl.sum_horizontal(terms).cast(pl.Int64) if terms else pl.lit(0, pl.Int64)

    def sparse_mask(self, df: pl.DataFrame, rows: pl.Expr, pairs: Iterable[tuple[pl.Expr, str]]) -> pl.Series:
        """The mask of :meth:`mask`, computed only on the rows where `rows` holds (0 elsewhere): most reasons
        concern few members (children with a status, disabled people, 特困 candidates)."""
        expr = self.mask(pairs)
        if df.height < SPARSE_FROM:  # one query over every row costs less than picking the rows first
            return df.select(pl.when(rows.fill_null(False)).then(expr).otherwise(0)).to_series().alias("")
        at = np.flatnonzero(df.select(rows.fill_null(False)).to_series().to_numpy())
        out = np.zeros(df.height, np.int64)
        if at.size:
            needed = sorted(set(expr.meta.root_names()))
            out[at] = df.select(needed)[at].select(expr).to_series().to_numpy()
        return pl.Series(out)

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


def by_hukou(urban: float | None, rural: float | None) -> pl.Expr:
    """A per-hukou-type value (urban / rural) as an expression; null when either is not in force."""
    if urban is None or rural is None:
        return pl.lit(None, pl.Float64)
    return pl.when(pl.col("urban")).then(pl.lit(float(urban))).otherwise(pl.lit(float(rural)))


def disability_within(table: Mapping[str, Any], category: str = "disability_category",
                      grade: str = "disability_grade") -> pl.Expr:
    """A disability at or above the grade a table gives for its category (``any`` = every other category)."""
    default = table.get("any")
    terms = [(pl.col(category) == cat) & (pl.col(grade) <= int(g)) for cat, g in table.items() if cat != "any"]
    if default is not None:
        terms.append(~pl.col(category).is_in([c for c in table if c != "any"]) & (pl.col(grade) <= int(default)))
    return pl.any_horizontal(terms).fill_null(False) if terms else pl.lit(False)


def mapped(x: pl.Expr, mapping: Mapping[Any, Any], default: Any, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
    """`x` replaced by its value in `mapping`, anything else (null included) by `default`: ``replace_strict``'s
    result, as a chain of comparisons (a few keys: replace_strict's hash join cost twice the CPU on a batch, and
    three times the time on one household)."""
    items = list(mapping.items())
    if not items:  # the default on every row (a bare literal would be one row in a select)
        return pl.when(x.is_null()).then(pl.lit(default, dtype)).otherwise(pl.lit(default, dtype))
    chain: Any = pl.when(x == items[0][0]).then(pl.lit(items[0][1], dtype))
    for key, value in items[1:]:
        chain = chain.when(x == key).then(pl.lit(value, dtype))
    out: pl.Expr = chain.otherwise(pl.lit(default, dtype))
    return out


# The Gregorian calendar repeats every 400 years, so a person born 146,097 days earlier is exactly 400 years older.
CYCLE_DAYS, CYCLE_YEARS = 146_097, 400
EPOCH = date(1970, 1, 1)  # day 0 of Polars' Date


def age_on(birth: pl.Expr, on: date) -> pl.Expr:
    """Age in whole years on `on` (a birthday on that day counts; one on 29 February, from 1 March in a common
    year), for any birth date."""
    # Read from a table of one 400-year cycle: splitting each date into year, month and day took three
    # civil-date conversions, over half the cost of the members' shared columns on a large batch (13× more).
    start, ages = _age_table(on)
    days = birth.cast(pl.Int32) - start
    cycles = days // CYCLE_DAYS  # floor division: a birth date before the table is a negative number of cycles
    return (pl.lit(ages).gather(days - cycles * CYCLE_DAYS) - cycles * CYCLE_YEARS).cast(pl.Int32)


@lru_cache(maxsize=32)
def _age_table(on: date) -> tuple[int, pl.Series]:
    """The first day (as a Polars day number) of a 400-year cycle ending in `on`'s year, and the age on `on` of
    someone born on each of its days."""
    first = date(max(on.year - CYCLE_YEARS + 1, 1), 1, 1)
    born = pl.date_range(first, first + timedelta(days=CYCLE_DAYS - 1), eager=True)
    before_birthday = (born.dt.month().cast(pl.Int32) * 100 + born.dt.day().cast(pl.Int32)) > on.month * 100 + on.day
    ages = (on.year - born.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)).cast(pl.Int32)
    return (first - EPOCH).days, ages.alias("")


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
