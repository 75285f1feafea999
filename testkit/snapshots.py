"""Snapshot files laid out as a warehouse writes them: part files of small row groups."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def write_parts(df: pl.DataFrame, folder: Path, *, parts: int, groups: int, statistics: bool = True) -> None:
    """`df` in its order as `parts` part files (``part-<n>.parquet``) under `folder`, in row groups of `groups`."""
    folder.mkdir(parents=True)
    step = -(-df.height // parts)
    for p in range(parts):
        df.slice(p * step, step).write_parquet(folder / f"part-{p}.parquet", row_group_size=groups,
                                               statistics=statistics)
