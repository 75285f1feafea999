"""A batch laid out county by county is split without copying, and decides exactly as the same batch in id order."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from doudi.policy.engine import _county_runs, evaluate_frames, resolve
from doudi.policy.frames import Frames, conform
from testkit.population import county_major, generate

ON = date(2025, 6, 1)


@pytest.fixture(scope="module")
def frames() -> Frames:
    return conform(generate(3_000, seed=5, on=ON))


def _regions(frames: Frames) -> dict[str, str]:
    county_region, _, _ = resolve(frames.households["area_code"].unique().to_list(), ON)
    return county_region


def test_the_generated_batch_spans_several_regions(frames: Frames) -> None:
    regions = set(_regions(frames).values())
    assert len(regions) >= 2
    # In id order the counties interleave: not one run per county, so it is split by region.
    assert _county_runs(frames.households, frames.members, _regions(frames)) is None


def test_a_county_major_batch_is_cut_into_one_slice_per_county(frames: Frames) -> None:
    cm = county_major(frames)
    parts = _county_runs(cm.households, cm.members, _regions(frames))
    assert parts is not None
    counties = cm.households["area_code"].str.slice(0, 6).unique(maintain_order=True).to_list()
    assert len(parts) == len(counties)
    assert sum(h.height for _, h, _ in parts) == frames.households.height
    assert sum(m.height for _, _, m in parts) == frames.members.height
    for (region, h, m), county in zip(parts, counties, strict=True):
        assert region == _regions(frames)[county]
        assert (h["area_code"].str.slice(0, 6) == county).all()
        assert h["household_id"].is_sorted() and m["household_id"].is_sorted()
        assert set(m["household_id"].to_list()) <= set(h["household_id"].to_list())


def _sorted(df: pl.DataFrame, *keys: str) -> pl.DataFrame:
    return df.sort(*keys).select(sorted(df.columns))


def test_both_layouts_give_the_same_decisions(frames: Frames) -> None:
    by_id = evaluate_frames(frames, ON)
    by_county = evaluate_frames(county_major(frames), ON)
    assert _sorted(by_county.households, "household_id").equals(_sorted(by_id.households, "household_id"))
    assert _sorted(by_county.members, "household_id", "member_idx").equals(
        _sorted(by_id.members, "household_id", "member_idx"))


def test_a_county_whose_last_household_has_no_members_still_splits(frames: Frames) -> None:
    cm = county_major(frames)
    first_county = cm.households["area_code"][0][:6]
    last_of_first = cm.households.filter(pl.col("area_code").str.starts_with(first_county))["household_id"][-1]
    members = cm.members.filter(pl.col("household_id") != last_of_first)
    parts = _county_runs(cm.households, members, _regions(frames))
    assert parts is not None
    assert sum(m.height for _, _, m in parts) == members.height


def test_members_out_of_step_with_their_households_fall_back_to_the_region_split(frames: Frames) -> None:
    cm = county_major(frames)
    shuffled = cm.members.sample(fraction=1.0, shuffle=True, seed=1)
    assert _county_runs(cm.households, shuffled, _regions(frames)) is None
    # The fallback sorts them, so the decisions are still those of the batch in id order.
    got = evaluate_frames(Frames(cm.households, shuffled), ON).households
    assert _sorted(got, "household_id").equals(_sorted(evaluate_frames(frames, ON).households, "household_id"))


def test_one_household_id_in_two_counties_is_refused(frames: Frames) -> None:
    cm = county_major(frames)
    counties = cm.households["area_code"].str.slice(0, 6)
    second_start = int((counties != counties[0]).arg_true()[0])
    # The second county's first household takes the id of the first county's first household (and its members).
    dup_id = cm.households["household_id"][0]
    moved = cm.households["household_id"][second_start]
    hh = cm.households.with_columns(household_id=pl.when(pl.int_range(pl.len()) == second_start)
                                    .then(pl.lit(dup_id)).otherwise(pl.col("household_id")))
    mem = cm.members.filter(pl.col("household_id") != moved)
    with pytest.raises(ValueError, match="household_id 重复"):
        _county_runs(hh, mem, _regions(frames))  # the layout holds; the repeated id is what is refused
    with pytest.raises(ValueError, match="household_id 重复"):
        evaluate_frames(Frames(hh, mem), ON)


def test_two_counties_of_one_region_laid_out_county_by_county_are_not_sorted_first(frames: Frames) -> None:
    # 江门's 蓬江 (440703) and 江海 (440705) share the city's pack: one region, two county runs, ids not in order.
    regions = _regions(frames)
    pair = [c for c in ("440703", "440705") if c in regions]
    assert len(pair) == 2 and regions[pair[0]] == regions[pair[1]]
    hh = frames.households.filter(pl.col("area_code").str.slice(0, 6).is_in(pair))
    both = Frames(hh, frames.members.join(hh.select("household_id"), on="household_id", how="semi"))
    cm = county_major(both)
    assert not cm.households["household_id"].is_sorted()
    parts = _county_runs(cm.households, cm.members, _regions(both))
    assert parts is not None and len(parts) == 2
    got = evaluate_frames(cm, ON)
    want = evaluate_frames(both, ON)
    assert _sorted(got.households, "household_id").equals(_sorted(want.households, "household_id"))
