"""A snapshot sorted by household id, read by each Spark task itself: its slice of households and their members.

``write_snapshot`` of a registry or of the synthetic population writes households and members in household-id
order. Then the households' rows can be cut into even slices by position, and a slice's members are one run of
the members file, found by the Parquet statistics of its row groups. Each task reads its own slice from the
files and nothing is shuffled: on a cogroup, the JVM read every member, hashed it, shuffled it and converted it
into Arrow again for the Python task, three times the work of the rules at 10M households.

Only the files' footers are read to decide: every row group of both files must state the minimum and maximum
household id, in ascending runs from file to file. A snapshot that is not (a warehouse export in any order) is
cogrouped by hash as before. The order only decides how much each task reads, not what it decides: a task
keeps exactly the members of its own households.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from doudi.scale.chunked import parquet_files
from doudi.scale.layout import HOUSEHOLDS, MEMBERS

KEY = "household_id"


@dataclass(frozen=True)
class Slices:
    """A sorted snapshot's files and its households' rows, cut into `count` slices of `size` rows."""

    households: list[str]
    members: list[str]
    rows: int
    count: int

    @property
    def size(self) -> int:
        """Households per slice (the last may hold fewer)."""
        return max(1, math.ceil(self.rows / self.count))

    def households_of(self, index: int, area: str = "") -> pl.DataFrame:
        """The households of slice `index` (only those whose area code starts with `area`)."""
        hh = pl.scan_parquet(self.households).slice(index * self.size, self.size)
        if area:
            hh = hh.filter(pl.col("area_code").str.starts_with(area))
        return hh.collect()

    def members_of(self, households: pl.DataFrame) -> pl.DataFrame:
        """The members in the households' id range (row groups outside it are not read); the task keeps
        exactly its own households' members among them."""
        ids = households[KEY]
        return (pl.scan_parquet(self.members).filter(pl.col(KEY).is_between(ids.min(), ids.max()))
                .collect())


def ranges(files: list[Path]) -> list[tuple[int, int]] | None:
    """The (lowest, highest) household id of each non-empty row group, in file order, from the footers;
    None when a row group does not state them or holds an empty id."""
    found: list[tuple[int, int]] = []
    for file in files:
        meta = pq.read_metadata(file)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            if not group.num_rows:
                continue
            column = next((group.column(c) for c in range(group.num_columns)
                           if group.column(c).path_in_schema == KEY), None)
            stats = column.statistics if column is not None else None
            if stats is None or not stats.has_min_max or stats.null_count:
                return None
            found.append((int(stats.min), int(stats.max)))
    return found


def ascending(runs: list[tuple[int, int]], *, strict: bool) -> bool:
    """Each run starts after the one before ends (`strict`: households, each id once), or where it ends
    (members: a household's members may straddle two row groups)."""
    return all(b[0] > a[1] if strict else b[0] >= a[1] for a, b in pairwise(runs))


def sorted_slices(snapshot: Path, count: int) -> Slices | None:
    """The snapshot as `count` slices when both files are in household-id order by their statistics, else None."""
    hh_files, mem_files = parquet_files(snapshot / HOUSEHOLDS), parquet_files(snapshot / MEMBERS)
    hh, mem = ranges(hh_files), ranges(mem_files)
    if hh is None or mem is None or not ascending(hh, strict=True) or not ascending(mem, strict=False):
        return None
    rows = sum(pq.read_metadata(f).num_rows for f in hh_files)
    return Slices([str(f) for f in hh_files], [str(f) for f in mem_files], rows, count)
