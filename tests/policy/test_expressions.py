"""The small shared expressions: age from a 400-year table, and a chained lookup in place of replace_strict."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from doudi.policy.protocol import age_on, mapped


def _age(born: date, on: date) -> int:
    """Whole years by hand: the years between, less one when the birthday (month, day) is still to come."""
    return on.year - born.year - ((born.month, born.day) > (on.month, on.day))


BORN = [date(1950, 3, 1), date(1950, 2, 28), date(2000, 2, 29), date(2007, 6, 1), date(2007, 6, 2),
        date(1625, 6, 2), date(1, 1, 1), date(9999, 12, 31), date(2025, 6, 1), date(1600, 2, 29)]


@pytest.mark.parametrize("on", [date(2025, 6, 1), date(2025, 2, 28), date(2025, 3, 1), date(2024, 2, 29),
                                date(2026, 12, 31), date(2300, 1, 1)])
def test_age_on_any_birth_date(on: date) -> None:
    """The table covers one 400-year cycle; dates centuries before or after it shift by whole cycles."""
    out = pl.DataFrame({"born": [*BORN, None]}, schema={"born": pl.Date}).select(
        age=age_on(pl.col("born"), on))["age"].to_list()
    assert out == [*(_age(b, on) for b in BORN), None]


def test_age_on_a_29_february_birthday() -> None:
    """Born on 29 February: still 24 on 28 February 2025, 25 from 1 March (a common year)."""
    ages = pl.DataFrame({"born": [date(2000, 2, 29)] * 3}).select(
        a=age_on(pl.col("born"), date(2025, 2, 28)), b=age_on(pl.col("born"), date(2025, 3, 1)),
        c=age_on(pl.col("born"), date(2024, 2, 29))).row(0)
    assert ages == (24, 25, 24)


def test_mapped_gives_the_value_or_the_default() -> None:
    """A key's value; an unknown value and a null both give the default, as replace_strict with a default does."""
    df = pl.DataFrame({"r": ["head", "spouse", "zzz", None]})
    out = df.select(role=mapped(pl.col("r"), {"head": 0, "spouse": 1}, -1, pl.Int8),
                    name=mapped(pl.col("r"), {"head": "户主"}, None, pl.String))
    assert out["role"].to_list() == [0, 1, -1, -1] and out["role"].dtype == pl.Int8
    assert out["name"].to_list() == ["户主", None, None, None]
    assert df.select(mapped(pl.col("r"), {}, 7, pl.Int32)).to_series().to_list() == [7] * 4
