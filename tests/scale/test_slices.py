"""A sorted snapshot cut into slices that Spark tasks read themselves (no Spark needed): which snapshots are
sorted by their Parquet footers, and that the slices hold every household once, with all its members."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from doudi.scale.slices import Slices, ascending, sorted_slices
from testkit.snapshots import write_parts


def _snapshot(directory: Path, hh_ids: list[int], mem_ids: list[int], *, groups: int, parts: int = 1,
              statistics: bool = True) -> Path:
    """Households and members with these ids, in this order, as `parts` part files of row groups of `groups`."""
    frames = {"households.parquet": pl.DataFrame({"household_id": hh_ids, "area_code": "370784001001"}),
              "members.parquet": pl.DataFrame({"household_id": mem_ids, "member_idx": range(len(mem_ids))})}
    for name, df in frames.items():
        write_parts(df, directory / name, parts=parts, groups=groups, statistics=statistics)
    return directory


def test_ascending_runs() -> None:
    """Households: each row group's lowest id above the last one's highest; members may share a household
    across two row groups (3 ends one and starts the next), households may not."""
    assert ascending([(1, 3, 5), (4, 9, 5)], strict=True)
    assert not ascending([(1, 3, 5), (3, 9, 5)], strict=True)
    assert ascending([(1, 3, 5), (3, 9, 5)], strict=False)
    assert not ascending([(1, 5, 5), (4, 9, 5)], strict=False)


def test_a_sorted_snapshot_is_sliced_evenly(tmp_path: Path) -> None:
    """1 003 households (ids 1–1 003) with 2 members each, in 3 part files of row groups of 100, cut into 8
    slices: ⌈1 003 / 8⌉ = 126 households each, the last 1 003 − 7 × 126 = 121. Together the slices hold every
    household once, and each slice's members are exactly its households' 2 each."""
    ids = list(range(1, 1004))
    snap = _snapshot(tmp_path, ids, [i for i in ids for _ in (0, 1)], groups=100, parts=3)

    slices = sorted_slices(snap, 8)

    assert isinstance(slices, Slices) and slices.rows == 1003 and slices.size == 126
    got = [slices.households_of(i) for i in range(8)]
    assert [g.height for g in got] == [126] * 7 + [121]
    assert pl.concat(got)["household_id"].to_list() == ids
    for g in got:
        members = slices.members_of(g).filter(pl.col("household_id").is_in(g["household_id"].implode()))
        assert members.height == 2 * g.height


def test_an_area_slice_keeps_its_households(tmp_path: Path) -> None:
    """Slice 0 of 10 households in 8 (⌈10 / 8⌉ = 2 each) read for an area: none for 江门 (4407), and so no
    members; both for 安丘's city (3707)."""
    snap = _snapshot(tmp_path, list(range(1, 11)), list(range(1, 11)), groups=5)
    slices = sorted_slices(snap, 8)
    assert slices is not None
    assert slices.households_of(0, "4407").height == 0 and slices.households_of(0, "3707").height == 2
    # No households, no members read: an empty frame with the members file's columns.
    assert slices.members_of(slices.households_of(0, "4407")).columns == ["household_id", "member_idx"]
    assert slices.members_of(slices.households_of(0, "4407")).height == 0


def test_unsorted_or_unstated_snapshots_are_not_sliced(tmp_path: Path) -> None:
    """Row groups whose id ranges overlap (households 1–600 written in reverse, in groups of 100) are not in
    order; nor are files without statistics; nor members out of order under sorted households."""
    ids = list(range(1, 601))
    assert sorted_slices(_snapshot(tmp_path / "sorted", ids, ids, groups=100), 8) is not None
    assert sorted_slices(_snapshot(tmp_path / "reversed", ids[::-1], ids, groups=100), 8) is None
    assert sorted_slices(_snapshot(tmp_path / "bare", ids, ids, groups=100, statistics=False), 8) is None
    assert sorted_slices(_snapshot(tmp_path / "members", ids, ids[::-1], groups=100), 8) is None



def test_row_groups_too_large_for_every_task_to_read_are_not_sliced(tmp_path: Path) -> None:
    """600 sorted households and members in one row group each, 8 tasks: four tasks' share is 4 × 600 / 8 =
    300 rows. Under a floor of 100 rows the 600-row groups are too large (each overlapping task would read
    them whole); under the default floor (2 097 152 rows) they are read, and so are row groups of 300."""
    ids = list(range(1, 601))
    whole = _snapshot(tmp_path / "whole", ids, ids, groups=600)
    assert sorted_slices(whole, 8, floor=100) is None
    assert sorted_slices(whole, 8) is not None
    assert sorted_slices(_snapshot(tmp_path / "halves", ids, ids, groups=300), 8, floor=100) is not None
