"""A reason mask for few members (SparseMask): a batch computes it on its rows alone, a single case records it
with the other steps; both give the same bits."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import SPARSE_FROM, Codes, Pairs, Reason, SparseMask

CODES = Codes("t", [Reason("a", "甲"), Reason("b", "乙"), Reason("c", "丙")])  # bits 1, 2, 4
ON = date(2025, 6, 1)
# (x, concerned, y) → the mask by hand: a = x > 0 on every row; b = y > 5 and c = y missing, on concerned rows.
ROWS = [((1, True, 6), 1 | 2), ((0, True, 1), 0), ((1, False, 9), 1), ((0, None, 9), 0), ((0, True, None), 4),
        ((1, True, None), 1 | 4)]


def _parts(q: Any) -> tuple[Pairs, pl.Expr, Pairs]:
    del q
    return [(pl.col("x") > 0, "a")], pl.col("concerned"), [(pl.col("y") > 5, "b"), (pl.col("y").is_null(), "c")]


def _other_parts(q: Any) -> tuple[Pairs, pl.Expr, Pairs]:
    del q
    return [], pl.col("concerned"), [(pl.col("x") > 0, "a")]


def _frame(times: int) -> pl.DataFrame:
    values = [v for v, _ in ROWS] * times
    return pl.DataFrame({"x": [v[0] for v in values], "concerned": [v[1] for v in values],
                         "y": [v[2] for v in values]}, schema={"x": pl.Int64, "concerned": pl.Boolean, "y": pl.Int64})


def test_a_batch_and_a_single_case_give_the_same_bits() -> None:
    step = SparseMask(CODES, "mask", _parts)
    want = [m for _, m in ROWS]
    batch = _frame(SPARSE_FROM // len(ROWS) + 1)  # enough rows for the sparse path
    assert batch.height >= SPARSE_FROM
    assert step.apply(batch, None)["mask"].to_list() == want * (batch.height // len(ROWS))
    few = step.recorded(_frame(1), None, ON)
    assert few["mask"].to_list() == want and few["mask"].dtype == pl.Int64
    assert step.apply(_frame(1), None)["mask"].to_list() == want


def test_each_step_records_under_its_own_name() -> None:
    """The recorded plans are cached by the function's module and name: two steps must not share one."""
    one, other = SparseMask(CODES, "mask", _parts), SparseMask(CODES, "other", _other_parts)
    assert one.recorded.__qualname__ != other.recorded.__qualname__
    assert one.recorded.__module__ == __name__
    assert other.recorded(_frame(1), None, ON)["other"].to_list() == [1, 0, 0, 0, 0, 1]
