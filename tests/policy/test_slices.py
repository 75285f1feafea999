"""A batch that keeps only its decisions is evaluated in slices, two at a time, and decides exactly as the
whole batch with every working column."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from doudi.policy import engine
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import decision_columns, evaluate_frames, resolve
from doudi.policy.frames import Frames, conform
from doudi.scale.layout import DECISION_COLUMNS, MEMBER_COLUMNS
from testkit.population import county_major, generate

ON = date(2025, 6, 1)
N = 2_000
SLICE = 150  # small enough that every region of the batch is cut into several slices


@pytest.fixture(scope="module")
def frames() -> Frames:
    return conform(generate(N, seed=9, on=ON))


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SLICE", SLICE)


def _rows(d: engine.Decisions) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (decision_rows(d).select(list(DECISION_COLUMNS)).sort("program", "household_id"),
            member_rows(d).select(list(MEMBER_COLUMNS)).sort("program", "household_id", "member_idx"))


@pytest.mark.usefixtures("small_slices")
@pytest.mark.parametrize("layout", ["by_id", "by_county"])
def test_sliced_decisions_equal_the_whole_batch(frames: Frames, layout: str) -> None:
    batch = frames if layout == "by_id" else county_major(frames)
    whole = evaluate_frames(batch, ON)
    sliced = evaluate_frames(batch, ON, decisions_only=True)
    assert sliced.households.height == whole.households.height == N
    got, want = _rows(sliced), _rows(whole)
    assert got[0].equals(want[0])
    assert got[1].equals(want[1])
    assert int(sliced.members["counted"].sum()) == int(whole.members["counted"].sum())


@pytest.mark.usefixtures("small_slices")
def test_only_the_decision_columns_are_kept(frames: Frames) -> None:
    d = evaluate_frames(frames, ON, decisions_only=True)
    households, members = decision_columns()
    assert d.households.columns == households
    assert d.members.columns == members
    # The working columns an explanation reads are gone (the whole batch has them).
    assert "pc_income_all" not in d.households.columns
    assert "pc_income_all" in evaluate_frames(frames, ON).households.columns


@pytest.mark.usefixtures("small_slices")
@pytest.mark.parametrize("layout", ["by_id", "by_county"])
def test_every_household_and_member_is_in_exactly_one_slice(frames: Frames, layout: str) -> None:
    batch = frames if layout == "by_id" else county_major(frames)
    county_region, _, resolved = resolve(batch.households["area_code"].unique().to_list(), ON)
    hh = batch.households.with_columns(pack_region=pl.col("area_code").str.slice(0, 6).replace_strict(county_region))
    jobs = [job() for job in engine._slice_jobs(hh, batch.members, county_region, list(resolved))]
    assert len(jobs) > len(resolved)  # cut into slices
    assert all(h.height <= SLICE for _, h, _ in jobs)
    ids = pl.concat([h.select("household_id") for _, h, _ in jobs])["household_id"]
    assert ids.len() == N and ids.n_unique() == N
    for region, h, m in jobs:
        assert (h["pack_region"] == region).all()
        assert set(m["household_id"].unique().to_list()) <= set(h["household_id"].to_list())
    assert sum(m.height for _, _, m in jobs) == batch.members.height


@pytest.mark.usefixtures("small_slices")
def test_a_repeated_household_id_is_refused(frames: Frames) -> None:
    twice = pl.concat([frames.households, frames.households.head(1)])
    with pytest.raises(ValueError, match="household_id 重复"):
        evaluate_frames(Frames(twice, frames.members), ON, decisions_only=True)


@pytest.mark.usefixtures("small_slices")
def test_a_working_column_asked_for_is_kept_with_its_values(frames: Frames) -> None:
    d = evaluate_frames(frames, ON, decisions_only=True, also=["counted_income_all"])
    assert d.households.columns == decision_columns(["counted_income_all"])[0]
    got = d.households.select("household_id", "counted_income_all").sort("household_id")
    want = evaluate_frames(frames, ON).households.select("household_id", "counted_income_all").sort("household_id")
    assert got.equals(want)
