"""A snapshot sorted by household id, read by each Spark task itself: its slice of households and their members.

A snapshot of the registry (``doudi assess --export-snapshot``) or of the synthetic population holds
households and members in household-id order. Then the households' rows can be cut into even slices by
position, and a slice's members are one run of the members file, found by the Parquet statistics of its row
groups. Each task reads its own slice from the files and nothing is shuffled: on a cogroup, the JVM read every
member, hashed it, shuffled it and converted it into Arrow again for the Python task, three times the work of
the rules at 10M households.

Only the files' footers are read to decide: every row group of both files must state the minimum and maximum
household id, in ascending runs from file to file, and none so large that every task overlapping it reading it
whole would cost more than the shuffle. A snapshot that is not (a warehouse export in any order, or in one
huge row group) is cogrouped by hash as before. The order only decides how much each task reads, not what it
decides: a task keeps exactly the members of its own households.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from doudi.scale.chunked import members_of, parquet_files
from doudi.scale.layout import HOUSEHOLDS, MEMBERS

KEY = "household_id"
# A row group of up to this many rows may be read by every task whose ids it overlaps: twice the row group
# pyarrow writes by default (1,048,576 rows).
GROUP_FLOOR = 2_097_152


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
        """The members of these households, read by their id range (as a chunk's, :func:`members_of`)."""
        return members_of(households, pl.scan_parquet(self.members))


def ranges(files: list[Path]) -> list[tuple[int, int, int]] | None:
    """The (lowest, highest) household id and the rows of each non-empty row group, in file order, from the
    footers; None when a row group does not state them or holds an empty id."""
    found: list[tuple[int, int, int]] = []
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
            found.append((int(stats.min), int(stats.max), group.num_rows))
    return found


def ascending(runs: list[tuple[int, int, int]], *, strict: bool) -> bool:
    """Each run starts after the one before ends (`strict`: households, each id once), or where it ends
    (members: a household's members may straddle two row groups)."""
    return all(b[0] > a[1] if strict else b[0] >= a[1] for a, b in pairwise(runs))


def small_groups(runs: list[tuple[int, int, int]], count: int, floor: int) -> bool:
    """Whether every row group is small enough to be read by each task its ids overlap: at most four tasks'
    share of the rows, or `floor` rows (a warehouse export of one 27M-member row group would be read whole by
    each of 40 tasks, more than the shuffle it saves)."""
    rows = sum(r for _, _, r in runs)
    return all(r <= max(4 * rows / count, floor) for _, _, r in runs)


def sorted_slices(snapshot: Path, count: int, *, floor: int = GROUP_FLOOR) -> Slices | None:
    """The snapshot as `count` slices when both files are in household-id order by their statistics, in row
    groups each task can afford to read (:func:`small_groups`), else None."""
    hh_files, mem_files = parquet_files(snapshot / HOUSEHOLDS), parquet_files(snapshot / MEMBERS)
    hh, mem = ranges(hh_files), ranges(mem_files)
    if hh is None or mem is None or not ascending(hh, strict=True) or not ascending(mem, strict=False):
        return None
    if not (small_groups(hh, count, floor) and small_groups(mem, count, floor)):
        return None
    return Slices([str(f) for f in hh_files], [str(f) for f in mem_files], sum(r for *_, r in hh), count)
