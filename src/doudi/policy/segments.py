"""Household ⇄ member arithmetic on sorted frames, without hash joins or hash group-bys.

Both frames are sorted by ``household_id``, so a household's members are one contiguous slice. Sums
over members are ``numpy.ufunc.reduceat`` over those slices and household values reach members by a
gather. Why not ``group_by``/``join``: with a million one-to-six-member groups, Polars' hash group-by
was the largest cost of a full assessment (about 2 s of 5); reduceat over slices does the same work in
a few milliseconds per column, adding members in their own order, so one household gives identical
sums alone or in a batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

# A member column is reduced over its non-zero rows alone when at most one row in this many is non-zero.
SPARSE_SHARE = 8
# From this many member rows, the columns of one aggregation are reduced on two threads.
PARALLEL_FROM = 100_000
_POOL: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()  # two slices of a batch may ask for the pool at once


def _pool() -> ThreadPoolExecutor:
    """Two worker threads of this process, started on first use (a single case never starts them); a forked
    child (a Spark worker) starts its own, as the parent's threads do not exist in it."""
    pid = os.getpid()
    with _POOL_LOCK:
        if pid not in _POOL:
            _POOL.clear()
            _POOL[pid] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segments")
        return _POOL[pid]


@dataclass(frozen=True)
class Segments:
    """Where each household's members lie in the members frame."""

    starts: np.ndarray  # first member row of each household
    counts: np.ndarray  # how many member rows
    member_rows: pl.Series  # for each member, its household's row
    dense: bool = False  # every household has members and every member a household, in order

    @classmethod
    def of(cls, households: pl.Series, members: pl.Series) -> Segments:
        """Segments for sorted household ids and sorted member household ids."""
        runs = members.rle()
        lengths = runs.struct.field("len").to_numpy().astype(np.int64)
        if len(lengths) == len(households) and (runs.struct.field("value") == households).all():
            # Fast path: every household has members and every member a household.
            counts = lengths
            starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else counts
            rows = pl.Series(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
            return cls(starts=starts, counts=counts, member_rows=rows, dense=bool(len(counts)))
        starts = members.search_sorted(households, side="left").to_numpy().astype(np.int64)
        ends = members.search_sorted(households, side="right").to_numpy().astype(np.int64)
        rows = households.search_sorted(members, side="left").cast(pl.Int64)
        return cls(starts=starts, counts=ends - starts, member_rows=rows)

    def reduce(self, values: np.ndarray, how: str) -> np.ndarray:
        """Per-household sum, max or bitwise-or of a member column (0 for a household without members)."""
        if len(values) == 0:
            return np.zeros(len(self.starts), dtype=values.dtype)
        ufunc = {"sum": np.add, "max": np.maximum, "or": np.bitwise_or}[how]
        if ufunc is np.add and values.dtype.kind in "iub":
            return self._int_sum(values)
        if self.dense:
            # Contiguous, non-empty slices covering every member: reduceat over the starts alone.
            sparse = self._sparse(values, ufunc)
            return sparse if sparse is not None else ufunc.reduceat(values, self.starts)
        # Interleaved [start, end) pairs: each even result reduces exactly one household's slice, so member
        # rows of households outside this frame never leak into a neighbour. A pad element makes `end`
        # valid for the last household.
        padded = np.append(values, np.zeros(1, dtype=values.dtype))
        bounds = np.empty(2 * len(self.starts), dtype=np.int64)
        bounds[0::2], bounds[1::2] = self.starts, self.starts + self.counts
        out = ufunc.reduceat(padded, bounds)[0::2]
        out[self.counts == 0] = 0
        return out

    def _int_sum(self, values: np.ndarray) -> np.ndarray:
        """Integer sums as differences of one running total: reduceat pays per household (a fifth of the time
        on a million short slices). Exact: integer addition is associative, and a running total that wraps
        around wraps back in the difference, so each sum is reduceat's, in reduceat's dtype."""
        total = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(values, dtype=np.int64, out=total[1:])
        out: np.ndarray = total[self.starts + self.counts] - total[self.starts]
        return out if values.dtype.kind == "b" else out.astype(values.dtype, copy=False)

    def _sparse(self, values: np.ndarray, ufunc: np.ufunc) -> np.ndarray | None:
        """The reduction over the non-zero members alone, when they are few and leaving the zeros out gives
        the same bits (None otherwise).

        reduceat pays per household; most member columns (reason masks, per-person entitlements, candidates)
        are zero for nearly everyone. A bitwise-or does not depend on the zeros; a maximum neither, when no
        value is negative (a household of zeros keeps 0). Float sums: see :meth:`_float_sum`; integer sums take
        :meth:`_int_sum` before this.
        """
        if np.count_nonzero(values) * SPARSE_SHARE > len(values):  # cheap: most columns are decided here
            return None
        if values.dtype.kind == "f":
            return self._float_sum(values) if ufunc is np.add else None
        if values.dtype.kind not in "iu":
            return None
        at = np.flatnonzero(values)
        if ufunc is np.maximum and at.size and values[at].min() < 0:
            return None
        out = np.zeros(len(self.starts), dtype=values.dtype)
        if at.size:
            rows = self.member_rows.to_numpy()[at]
            runs = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
            out[rows[runs]] = ufunc.reduceat(values[at], runs)
        return out

    def _float_sum(self, values: np.ndarray) -> np.ndarray | None:
        """reduceat's float sums, bit for bit, computed only for the households with a non-zero member after
        their first.

        numpy sums a slice as its first value plus the rest added one by one (pairwise only from 8 more
        values on), so with at most 8 members a household's sum is replayed exactly by adding its members in
        turn; adding +0.0 changes nothing but a -0.0, so households whose other members are all +0.0 keep
        their first value, and this is used only when no -0.0 occurs.
        """
        if values.dtype.itemsize != 8 or self.counts.max() > 8:
            return None
        bits = values.view(np.int64)
        if (bits == np.int64(-(2**63))).any():  # a -0.0
            return None
        later = bits != 0
        later[self.starts] = False
        at = np.flatnonzero(later)
        if at.size * SPARSE_SHARE > len(values):
            return None
        out: np.ndarray = values[self.starts]
        if at.size:
            rows = self.member_rows.to_numpy()[at]
            hs = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]
            start, count = self.starts[hs], self.counts[hs]
            rest = np.full(len(hs), -0.0)
            for j in range(1, int(count.max())):
                has = np.flatnonzero(count > j)
                rest[has] += values[start[has] + j]
            out[hs] += rest
        return out

    def aggregate(self, members: pl.DataFrame, exprs: Mapping[str, tuple[pl.Expr, str]]) -> dict[str, pl.Series]:
        """Evaluate member-level expressions in one pass and reduce each to a household column."""
        values = members.select(**{name: expr for name, (expr, _) in exprs.items()})

        def one(name: str, how: str) -> pl.Series:
            col = values[name]
            if col.dtype == pl.Boolean:
                arr = col.cast(pl.Int64).to_numpy()
            else:  # Series.fill_null runs a query of its own: only when there is a null to fill
                arr = (col.fill_null(0) if col.null_count() else col).to_numpy()
            return pl.Series(name, self.reduce(arr, how))

        jobs = [(name, how) for name, (_, how) in exprs.items()]
        if len(members) < PARALLEL_FROM or len(jobs) < 2:
            return {name: one(name, how) for name, how in jobs}
        # numpy releases the GIL in reduceat: on a large batch the columns are reduced on two threads (the
        # same values: each column is still reduced alone, in member order).
        return dict(zip((name for name, _ in jobs), _pool().map(lambda job: one(*job), jobs), strict=True))

    def broadcast(self, households: pl.DataFrame, columns: Mapping[str, str]) -> list[pl.Series]:
        """Household columns repeated onto their members (new name → household column)."""
        # Indexing gathers directly (Series.gather would run a query per column).
        return [households[src][self.member_rows].alias(dst) for dst, src in columns.items()]
