"""The single-node engine over a snapshot larger than memory: households in chunks, decisions to Parquet.

Each chunk is a run of households (with their members) evaluated by :func:`evaluate_frames` and written out
before the next is read, so memory is bounded by the chunk, not by the registry. The snapshot should be
sorted by ``household_id`` (``write_snapshot`` of a registry or the synthetic population is), so that a
chunk's members are one range of the members file and Parquet statistics skip the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import evaluate_frames
from doudi.policy.frames import Frames, conform
from doudi.scale.layout import DECISION_COLUMNS, HOUSEHOLDS, MEMBER_COLUMNS, MEMBERS, parquet_glob

CHUNK = 500_000


@dataclass(frozen=True)
class ChunkedAssessment:
    """Households and counted persons assessed, decisions written, and the chunks used."""

    households: int
    persons: int
    decisions: int
    chunks: int


def _own_members(hh: pl.DataFrame, mem: pl.DataFrame) -> pl.DataFrame:
    """The members whose household is in the chunk, in their order (members of ids the households file lacks
    are left out). Sorted ids are matched by binary search, which costs a fraction of a hash semi-join."""
    ids = hh["household_id"]
    if not ids.is_sorted() or ids.null_count() or mem["household_id"].null_count():
        return mem.join(hh.select("household_id"), on="household_id", how="semi")
    if not len(ids):
        return mem.clear()
    keys, wanted = ids.to_numpy(), mem["household_id"].to_numpy()
    found = keys[np.searchsorted(keys, wanted).clip(max=len(keys) - 1)] == wanted
    return mem if found.all() else mem.filter(pl.Series(found))


def assess_chunked(snapshot: Path, *, on: date, out: Path, chunk: int = CHUNK) -> ChunkedAssessment:
    """Assess a snapshot chunk by chunk; write ``decisions/part-N.parquet`` and ``members/part-N.parquet``."""
    households = pl.scan_parquet(parquet_glob(snapshot / HOUSEHOLDS))
    members = pl.scan_parquet(parquet_glob(snapshot / MEMBERS))
    total = int(households.select(pl.len()).collect().item())
    (out / "decisions").mkdir(parents=True, exist_ok=True)
    (out / "members").mkdir(parents=True, exist_ok=True)
    done = persons = decisions = 0
    part = 0
    for offset in range(0, total, chunk):
        hh = households.slice(offset, chunk).collect()
        lo, hi = hh["household_id"].min(), hh["household_id"].max()
        mem = _own_members(hh, members.filter(pl.col("household_id").is_between(lo, hi)).collect())
        d = evaluate_frames(conform(Frames(hh, mem)), on, skip_unconfigured=True)
        if d.households.height:
            long = decision_rows(d).select(list(DECISION_COLUMNS))
            long.write_parquet(out / "decisions" / f"part-{part:05d}.parquet")
            member_rows(d).select(list(MEMBER_COLUMNS)).write_parquet(out / "members" / f"part-{part:05d}.parquet")
            decisions += long.height
            persons += int(d.members["counted"].sum())
            done += d.households.height
        part += 1
        del d, hh, mem
    return ChunkedAssessment(households=done, persons=persons, decisions=decisions, chunks=part)
