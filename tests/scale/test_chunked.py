"""The chunked single-node engine writes exactly the decisions of one whole batch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.core.errors import DoudiError, ValidationFailed
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import evaluate_frames
from doudi.policy.frames import Frames, conform, write_snapshot
from doudi.policy.models import AssessmentDecision, AssessmentRun
from doudi.policy.programs import keys
from doudi.scale.chunked import _own_members, assess_chunked, household_chunks, read_ahead
from doudi.scale.layout import DECISION_COLUMNS, MEMBER_COLUMNS, output_lock, read_output
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
    got = read_output(tmp_path / "out", "decisions").sort(order, maintain_order=True)
    want = decision_rows(whole).select(list(DECISION_COLUMNS)).sort(order, maintain_order=True)
    assert got.equals(want)
    # Written dictionary-encoded, read as text by any reader (DuckDB here; Spark in its parity test).
    types = duckdb.connect().execute(
        "select typeof(area_code), typeof(reasons), typeof(pack_version) from read_parquet(?) limit 1",
        [str(tmp_path / "out" / "decisions" / "*.parquet")]).fetchall()[0]
    assert types == ("VARCHAR", "VARCHAR", "VARCHAR")
    m_order = ["program", "household_id", "member_idx"]
    got_m = pl.read_parquet(tmp_path / "out" / "members" / "*.parquet").sort(m_order)
    assert got_m.equals(member_rows(whole).select(list(MEMBER_COLUMNS)).sort(m_order))
    assert r.persons == int(whole.members["counted"].sum())


def _whole(frames: Frames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The decisions and member rows of one whole in-memory batch, in a fixed order."""
    d = evaluate_frames(frames, ON)
    return (decision_rows(d).select(list(DECISION_COLUMNS)).sort("program", "household_id"),
            member_rows(d).select(list(MEMBER_COLUMNS)).sort("program", "household_id", "member_idx"))


def _written(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (read_output(out, "decisions").sort("program", "household_id"),
            read_output(out, "members").sort("program", "household_id", "member_idx"))


def _same(got: tuple[pl.DataFrame, pl.DataFrame], want: tuple[pl.DataFrame, pl.DataFrame]) -> bool:
    return all(g.equals(w) for g, w in zip(got, want, strict=True))


def test_a_chunk_of_no_households_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="每块户数必须为正整数"):
        assess_chunked(tmp_path, on=ON, out=tmp_path / "out", chunk=0)
    assert not (tmp_path / "out").exists()


def test_households_stream_from_part_files_in_runs_of_the_chunk(tmp_path: Path) -> None:
    """Households in two part files (7 and 5 rows), 8 of them in township 370784001: chunks of 3 give 3 + 3 + 2
    across the file boundary, in file order, and only that township's households."""
    hh = pl.DataFrame({"household_id": list(range(1, 13)),
                       "area_code": ["370784001001"] * 4 + ["370784002001"] * 4 + ["370784001002"] * 4})
    (tmp_path / "households").mkdir()
    hh.slice(0, 7).write_parquet(tmp_path / "households" / "part-0.parquet")
    hh.slice(7).write_parquet(tmp_path / "households" / "part-1.parquet")

    chunks = list(household_chunks(tmp_path / "households", chunk=3, area="370784001"))

    assert [c["household_id"].to_list() for c in chunks] == [[1, 2, 3], [4, 9, 10], [11, 12]]
    assert [c.height for c in household_chunks(tmp_path / "households", chunk=5)] == [5, 5, 2]


def test_read_ahead_keeps_the_order_and_raises_the_readers_error() -> None:
    """The items come in order; an error raised while reading the third reaches the caller after the second."""
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("第 3 块读取失败")

    seen: list[int] = []
    with pytest.raises(ValueError, match="第 3 块读取失败"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_an_area_run_equals_the_areas_whole_batch(tmp_path: Path) -> None:
    """Township 370784001 of a 300-household county, in chunks of 6: exactly the decisions of its households
    evaluated in one batch; no household of another township is decided."""
    frames = conform(generate(300, seed=5, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")
    town = frames.households.filter(pl.col("area_code").str.starts_with("370784001"))
    assert 0 < town.height < 300
    mine = Frames(town, frames.members.join(town.select("household_id"), on="household_id", how="semi"))

    r = assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=6, area="370784001")

    assert (r.households, r.chunks, r.skipped) == (town.height, -(-town.height // 6), 0)
    assert r.chunks >= 2
    assert _same(_written(tmp_path / "out"), _whole(mine))


def test_a_new_run_replaces_the_whole_output_and_a_failed_one_keeps_it(tmp_path: Path) -> None:
    """300 households in 3 parts, then 100 in 1: only the 100 remain (no part of the first run is left). Then a
    snapshot whose members file is not Parquet, and one whose members lack the birth_date column: each run
    fails, the 100 households' output is as it was, and no staging folder is left."""
    big, small = conform(generate(300, seed=11, on=ON)), conform(generate(100, seed=12, on=ON))
    write_snapshot(big, tmp_path / "big")
    write_snapshot(small, tmp_path / "small")
    assess_chunked(tmp_path / "big", on=ON, out=tmp_path / "out", chunk=120)
    assert read_output(tmp_path / "out", "decisions").height == 300 * len(keys())

    assess_chunked(tmp_path / "small", on=ON, out=tmp_path / "out", chunk=120)
    assert _same(_written(tmp_path / "out"), _whole(Frames(small.households, small.members)))

    write_snapshot(small, tmp_path / "broken")
    (tmp_path / "broken" / "members.parquet").write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(pl.exceptions.PolarsError):
        assess_chunked(tmp_path / "broken", on=ON, out=tmp_path / "out", chunk=120)
    assert _same(_written(tmp_path / "out"), _whole(Frames(small.households, small.members)))
    write_snapshot(Frames(small.households, small.members.drop("birth_date")), tmp_path / "no_births")
    with pytest.raises(ValidationFailed, match="birth_date"):
        assess_chunked(tmp_path / "no_births", on=ON, out=tmp_path / "out", chunk=120)
    assert _same(_written(tmp_path / "out"), _whole(Frames(small.households, small.members)))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["decisions", "members", "skipped"]


def test_households_no_rule_can_decide_are_set_aside_with_the_reason(tmp_path: Path) -> None:
    """A warehouse export with one member's birth date and another household's area code missing: those two
    households are in skipped/ with the reason, and the other 98 are decided as in one batch without them."""
    frames = conform(generate(100, seed=14, on=ON))
    no_birth = int(frames.members["household_id"][5])
    no_area = int(frames.households["household_id"][40])
    assert no_birth != no_area
    members = frames.members.with_columns(
        birth_date=pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("birth_date")))
    households = frames.households.with_columns(
        area_code=pl.when(pl.col("household_id") == no_area).then(None).otherwise(pl.col("area_code")))
    write_snapshot(Frames(households, members), tmp_path / "snapshot")

    r = assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=30)

    skipped = read_output(tmp_path / "out", "skipped").sort("household_id")
    assert dict(skipped.select("household_id", "reason").iter_rows()) == {
        no_birth: "有成员缺少出生日期", no_area: "缺少行政区划代码"}
    assert (r.households, r.skipped) == (98, 2)
    kept = frames.households.filter(~pl.col("household_id").is_in([no_birth, no_area]))
    rest = Frames(kept, frames.members.join(kept.select("household_id"), on="household_id", how="semi"))
    assert _same(_written(tmp_path / "out"), _whole(rest))
    with pytest.raises(ValidationFailed) as failed:  # one whole batch names them instead
        evaluate_frames(conform(Frames(households, members)), ON)
    assert {e.field for e in failed.value.errors} == {f"household_id={no_birth}", f"household_id={no_area}"}


def test_a_second_run_into_the_same_output_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    """While a run holds OUT, another run into OUT is refused at once and changes nothing; once the first lets
    go, the same run goes through."""
    frames = conform(generate(50, seed=16, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")
    assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=20)
    before = _written(tmp_path / "out")

    with output_lock(tmp_path / "out"), pytest.raises(DoudiError, match="另一个测算正在写入结果目录"):
        assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=20)
    assert _same(_written(tmp_path / "out"), before)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["decisions", "members", "skipped"]

    assert assess_chunked(tmp_path / "snapshot", on=ON, out=tmp_path / "out", chunk=20).households == 50


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOUDI_DATABASE_URL": db_url, "DOUDI_SECRET_KEY": "test"}
    return subprocess.run([sys.executable, "-m", "doudi", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_cli_assesses_a_snapshot_in_chunks_and_stores_the_run(fresh_database: Any, tmp_path: Path) -> None:
    """`doudi assess --snapshot S --out O --chunk 120` on 300 households: 3 chunks, the Parquet decisions of
    the whole batch, and one stored run of 300 households with 300 × 8 decisions."""
    frames = conform(generate(300, seed=13, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")

    out = _cli(fresh_database.url, "assess", "--snapshot", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out"),
               "--chunk", "120", "--date", ON.isoformat())

    assert out.returncode == 0, out.stderr
    assert "分块测算：300 户" in out.stdout and "3 块" in out.stdout and "已写入评估批次" in out.stdout
    assert "{" not in out.stdout  # pack versions as words, not a Python dict
    assert _same(_written(tmp_path / "out"), _whole(Frames(frames.households, frames.members)))
    with Session(fresh_database.engine) as session:
        run = session.scalars(select(AssessmentRun)).one()
        stored = session.scalar(select(func.count()).select_from(AssessmentDecision))
    assert (run.households, run.source, stored) == (300, "snapshot", 300 * len(keys()))


def test_cli_names_a_missing_or_corrupt_snapshot_file(fresh_database: Any, tmp_path: Path) -> None:
    """A snapshot folder without households.parquet, then one whose members file is not Parquet: exit 2, the
    file or the reader's error named, no traceback, nothing stored."""
    (tmp_path / "snapshot").mkdir()
    out = _cli(fresh_database.url, "assess", "--snapshot", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out"),
               "--date", ON.isoformat())
    assert out.returncode == 2 and "households.parquet" in out.stderr and "Traceback" not in out.stderr
    write_snapshot(conform(generate(10, seed=15, on=ON)), tmp_path / "snapshot")
    (tmp_path / "snapshot" / "members.parquet").write_bytes(b"not parquet")
    out = _cli(fresh_database.url, "assess", "--snapshot", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out"),
               "--date", ON.isoformat())
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "读取或测算快照失败，原结果目录未改动" in out.stderr
    with Session(fresh_database.engine) as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 0


def test_cli_area_of_a_city_selects_its_counties_in_a_snapshot(fresh_database: Any, tmp_path: Path) -> None:
    """`--area 440700` (the city of 江门) on a snapshot means every household whose code starts with 4407, as on
    the registry: the 20 + 30 + 18 + 25 + 23 households of its five districts in the synthetic population, none of
    安丘's 184, decided as in one batch of those households, and stored as one run."""
    frames = conform(generate(300, seed=13, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")
    city = frames.households.filter(pl.col("area_code").str.starts_with("4407"))
    assert city.height == 20 + 30 + 18 + 25 + 23
    mine = Frames(city, frames.members.join(city.select("household_id"), on="household_id", how="semi"))

    out = _cli(fresh_database.url, "assess", "--snapshot", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out"),
               "--area", "440700", "--chunk", "50", "--date", ON.isoformat())

    assert out.returncode == 0, out.stderr
    assert "分块测算：116 户" in out.stdout
    assert _same(_written(tmp_path / "out"), _whole(mine))
    with Session(fresh_database.engine) as session:
        run = session.scalars(select(AssessmentRun)).one()
    assert (run.households, run.area_prefix) == (116, "440700")
