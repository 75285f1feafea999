"""Households no rule can decide (a value every rule reads is missing) are set aside or named, never decided."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from doudi.core.errors import ValidationFailed
from doudi.policy.engine import evaluate_frames, resolve
from doudi.policy.frames import Frames, conform, incomplete_households
from testkit.population import generate

ON = date(2025, 6, 1)


def test_a_complete_batch_has_no_incomplete_household() -> None:
    frames = conform(generate(50, seed=21, on=ON))
    assert incomplete_households(frames.households, frames.members) is None


def test_each_missing_value_is_a_reason_and_the_rest_are_decided() -> None:
    """Household A: one member without relation and one without birth date (two reasons, one row); household B
    without an area code. In a batch that may skip, both are set aside with their reasons and the others are
    decided exactly as a batch without them."""
    frames = conform(generate(60, seed=22, on=ON))
    a, b = int(frames.households["household_id"][3]), int(frames.households["household_id"][30])
    rows_a = frames.members.with_row_index().filter(pl.col("household_id") == a)["index"].to_list()
    assert len(rows_a) >= 1
    first = rows_a[0]
    last = rows_a[-1]
    i = pl.int_range(pl.len())
    members = frames.members.with_columns(
        relation=pl.when(i == first).then(None).otherwise(pl.col("relation")),
        birth_date=pl.when(i == last).then(None).otherwise(pl.col("birth_date")))
    households = frames.households.with_columns(
        area_code=pl.when(pl.col("household_id") == b).then(None).otherwise(pl.col("area_code")))

    d = evaluate_frames(Frames(households, members), ON, skip_unconfigured=True)

    assert d.skipped is not None
    assert dict(d.skipped.select("household_id", "reason").iter_rows()) == {
        a: "有成员缺少与户主关系；有成员缺少出生日期", b: "缺少行政区划代码"}
    kept = frames.households.filter(~pl.col("household_id").is_in([a, b]))
    alone = evaluate_frames(Frames(kept, frames.members.join(kept.select("household_id"), on="household_id",
                                                             how="semi")), ON)
    assert d.households.height == 58 and d.households.equals(alone.households)


def test_a_batch_that_must_decide_all_names_twenty_and_counts_the_rest() -> None:
    """25 households with a member born on an unknown date: a ValidationFailed naming the first 20 households
    (each with its reason) and saying 5 more are like them."""
    frames = conform(generate(40, seed=23, on=ON))
    ids = frames.households["household_id"].head(25).to_list()
    members = frames.members.with_columns(
        birth_date=pl.when(pl.col("household_id").is_in(ids)).then(None).otherwise(pl.col("birth_date")))

    with pytest.raises(ValidationFailed) as failed:
        evaluate_frames(Frames(frames.households, members), ON)

    errors = failed.value.errors
    assert [e.field for e in errors[:20]] == [f"household_id={h}" for h in ids[:20]]
    assert {e.message for e in errors[:20]} == {"有成员缺少出生日期"}
    assert (errors[20].field, errors[20].message, len(errors)) == ("households", "另有 5 户同样缺少必需信息", 21)


def test_a_missing_area_code_is_passed_over_when_packs_are_resolved() -> None:
    """A Spark driver resolves the counties of a whole snapshot, a household without an area code included."""
    county_region, _, resolved = resolve(["370784001001", None], ON)
    assert county_region == {"370784": "370784"} and list(resolved) == ["370784"]


def test_a_frame_without_a_column_every_rule_reads_is_named() -> None:
    """Members without the birth_date column and households without area_code: the file is of the wrong shape,
    so both columns are named (not 60 households set aside one by one)."""
    frames = conform(generate(60, seed=24, on=ON))
    with pytest.raises(ValidationFailed) as failed:
        conform(Frames(frames.households.drop("area_code"), frames.members.drop("birth_date")))
    assert [(e.field, e.message) for e in failed.value.errors] == [
        ("households.area_code", "缺少必需列"), ("members.birth_date", "缺少必需列")]
