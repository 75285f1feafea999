"""Household sums over sorted members: the sparse paths give reduceat's exact bits."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.policy.engine import _take
from doudi.policy.segments import Segments


def _segments(counts: list[int]) -> Segments:
    households = pl.Series(np.arange(len(counts), dtype=np.int64))
    members = pl.Series(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
    return Segments.of(households, members)


def test_float_sum_keeps_numpy_association() -> None:
    # One household of four members [0.0, 0.1, 0.2, 0.3] among 100 one-member households of 0.0, so the
    # sparse path is taken. numpy adds the first value to the rest summed in turn:
    # 0.0 + ((0.1 + 0.2) + 0.3) = 0.30000000000000004 + 0.3 = 0.6000000000000001, whereas leaving the
    # leading zero out would give 0.1 + (0.2 + 0.3) = 0.6.
    seg = _segments([4] + [1] * 100)
    values = np.zeros(104)
    values[1:4] = [0.1, 0.2, 0.3]
    assert seg._float_sum(values) is not None
    out = seg.reduce(values, "sum")
    assert out[0] == 0.6000000000000001
    assert not out[1:].any()


def test_negative_zero_falls_back() -> None:
    # A -0.0 alone in a household with a +0.0: reduceat gives -0.0 + 0.0 = +0.0; the sparse path is refused.
    seg = _segments([2] + [1] * 100)
    values = np.zeros(102)
    values[0] = -0.0
    assert seg._float_sum(values) is None
    out = seg.reduce(values, "sum")
    assert not np.signbit(out[0])


def test_sparse_max_and_or_by_hand() -> None:
    seg = _segments([3, 1, 2] + [1] * 30)
    values = np.zeros(36, dtype=np.int64)
    values[[1, 2]] = [5, 3]  # household 0: members 0, 1, 2
    values[5] = 6  # household 2: members 4, 5
    assert list(seg.reduce(values, "max")[:3]) == [5, 0, 6]
    assert list(seg.reduce(values, "or")[:3]) == [7, 0, 6]
    assert list(seg.reduce(values, "sum")[:3]) == [8, 0, 6]
    values[5] = -6  # a negative value: the maximum is taken over every member (household 2: max(0, -6) = 0)
    assert list(seg.reduce(values, "max")[:3]) == [5, 0, 0]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 10), min_size=1, max_size=300), st.integers(0, 2**32 - 1),
       st.floats(0.0, 1.0))
def test_sparse_paths_equal_reduceat(counts: list[int], seed: int, share: float) -> None:
    seg = _segments(counts)
    rng = np.random.default_rng(seed)
    n = sum(counts)
    values = np.zeros(n)
    at = rng.choice(n, int(n * share * 0.3), replace=False)
    values[at] = np.round(rng.standard_normal(at.size) * 10.0 ** rng.integers(-3, 9, at.size), 2)
    expected = np.add.reduceat(values, seg.starts)
    assert np.array_equal(seg.reduce(values, "sum").view(np.int64), expected.view(np.int64))
    ints = (values != 0).astype(np.int64) * rng.integers(0, 1 << 40, n)
    for how, ufunc in (("sum", np.add), ("or", np.bitwise_or), ("max", np.maximum)):
        assert np.array_equal(seg.reduce(ints, how), ufunc.reduceat(ints, seg.starts))


def test_part_slices_a_run_and_filters_otherwise() -> None:
    df = pl.DataFrame({"x": [10, 11, 12, 13, 14]})
    assert _take(df, np.flatnonzero([False, True, True, True, False]))["x"].to_list() == [11, 12, 13]
    assert _take(df, np.flatnonzero([True, False, True, False, True]))["x"].to_list() == [10, 12, 14]
    assert _take(df, np.flatnonzero(np.zeros(5, dtype=bool))).height == 0


def test_a_large_aggregation_on_two_threads_gives_each_household_its_own_sums() -> None:
    # 50,000 households of three members (150,000 rows, above PARALLEL_FROM): member k of household h holds
    # 3h + k, so the household sums 9h + 3 and its largest is 3h + 2; every member is counted, and a member
    # is flagged when k = 1 (one per household).
    from doudi.policy import segments

    n = 50_000
    assert 3 * n >= segments.PARALLEL_FROM
    seg = _segments([3] * n)
    members = pl.DataFrame({"value": np.arange(3 * n, dtype=np.int64),
                            "k": np.tile(np.arange(3, dtype=np.int64), n)})
    out = seg.aggregate(members, {"total": (pl.col("value"), "sum"), "top": (pl.col("value"), "max"),
                                  "flagged": (pl.col("k") == 1, "sum"), "half": (pl.col("value") / 2, "sum")})
    h = np.arange(n, dtype=np.int64)
    assert list(out) == ["total", "top", "flagged", "half"]
    assert (out["total"].to_numpy() == 9 * h + 3).all()
    assert (out["top"].to_numpy() == 3 * h + 2).all()
    assert (out["flagged"].to_numpy() == 1).all()
    assert (out["half"].to_numpy() == (9 * h + 3) / 2).all()


def test_integer_sums_by_hand_with_empty_households_and_wrap_around() -> None:
    """Integer sums are differences of a running total: households without members sum to 0, each dtype is
    kept, and a total that wraps past the int64 range comes back in the difference (the sums themselves fit)."""
    households = pl.Series([1, 2, 3, 4], dtype=pl.Int64)
    members = pl.Series([1, 1, 3, 3, 3], dtype=pl.Int64)  # households 2 and 4 have no member
    seg = Segments.of(households, members)
    assert not seg.dense
    assert seg.reduce(np.array([2, 5, 1, 1, 7], dtype=np.int32), "sum").tolist() == [7, 0, 9, 0]
    assert seg.reduce(np.array([2, 5, 1, 1, 7], dtype=np.int32), "sum").dtype == np.int32
    big = 2**62
    # Running total: 2^62, 2^63 (wraps to -2^63), ...; household 1 = 2^62 + 2^62 - 1 fits; household 3 = -2^62 + 1 - 1.
    values = np.array([big, big - 1, -big, 1, -1], dtype=np.int64)
    assert seg.reduce(values, "sum").tolist() == [2 * big - 1, 0, -big, 0]
    assert _segments([2, 3]).reduce(np.array([True, True, False, True, True]), "sum").tolist() == [2, 2]
