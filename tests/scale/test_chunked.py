"""The chunked single-node engine writes exactly the decisions of one whole batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import evaluate_frames
from doudi.policy.frames import Frames, conform, write_snapshot
from doudi.policy.programs import keys
from doudi.scale.chunked import _own_members, assess_chunked
from doudi.scale.layout import DECISION_COLUMNS, MEMBER_COLUMNS
from testkit.population import generate

ON = date(2025, 6, 1)


def test_own_members_drop_members_of_missing_households() -> None:
    hh = pl.DataFrame({"household_id": [2, 5, 7]})
    mem = pl.DataFrame({"household_id": [1, 2, 2, 3, 5, 7, 8], "x": [0, 1, 2, 3, 4, 5, 6]})
    # Households 1, 3 and 8 are not in the chunk: their members (x = 0, 3, 6) are left out, the order kept.
    assert _own_members(hh, mem)["x"].to_list() == [1, 2, 4, 5]
    assert _own_members(hh, mem.filter(pl.col("household_id") != 1))["x"].to_list() == [1, 2, 4, 5]


def test_chunks_equal_one_batch(tmp_path: Path) -> None:
    frames = conform(generate(300, seed=11, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")
    r = assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=120)
    assert (r.households, r.chunks) == (300, 3)  # 120 + 120 + 60
    assert r.decisions == 300 * len(keys())
    whole = evaluate_frames(Frames(frames.households, frames.members), ON)
    order = ["program", "household_id"]
    got = pl.read_parquet(tmp_path / "out" / "decisions" / "*.parquet").sort(order, maintain_order=True)
    want = decision_rows(whole).select(list(DECISION_COLUMNS)).sort(order, maintain_order=True)
    assert got.equals(want)
    m_order = ["program", "household_id", "member_idx"]
    got_m = pl.read_parquet(tmp_path / "out" / "members" / "*.parquet").sort(m_order)
    assert got_m.equals(member_rows(whole).select(list(MEMBER_COLUMNS)).sort(m_order))
    assert r.persons == int(whole.members["counted"].sum())
