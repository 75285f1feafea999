"""The Parquet layouts the Spark jobs and the chunked single-node engine read and write (documented in the
README, section "Province scale").

Inputs (a snapshot directory, as ``doudi assess --export-snapshot`` writes it)::

    households.parquet   one row per household  (policy.frames.HOUSEHOLD_SCHEMA)
    members.parquet      one row per member     (policy.frames.MEMBER_SCHEMA), keyed by household_id

Either may also be a directory of Parquet part files (a warehouse export). Outputs of an assessment::

    decisions/   one row per household and program: household_id, area_code, township, program, eligible,
                 monthly_amount, level, persons, reasons (codes, comma-separated), pack_region, pack_version
    members/     one row per entitled person: household_id, member_idx, person_id, program, monthly_amount,
                 level, care_hours
    skipped/     households whose region has no complete pack, or that lack a value every rule reads:
                 household_id, area_code, reason

Monitoring inputs are one Parquet file per frame of :class:`doudi.monitoring.rules.base.Inputs`
(``members``, ``enrollments``, ``feed``, ``grants``, ``decisions``, ``refusals``, ``standards``, ``incomes``);
its output ``warnings/`` holds one row per rule and subject, as :func:`doudi.monitoring.run.group_hits` gives.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import polars as pl

from doudi.core.errors import DoudiError
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import Decisions

# The output folders of an assessment, each of part files.
OUTPUTS = ("decisions", "members", "skipped")

DECISION_COLUMNS: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "area_code": pl.String(), "township": pl.String(), "program": pl.String(),
    "eligible": pl.Boolean(), "monthly_amount": pl.Float64(), "level": pl.String(), "persons": pl.Int32(),
    "reasons": pl.String(), "pack_region": pl.String(), "pack_version": pl.String()}
MEMBER_COLUMNS: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "member_idx": pl.Int32(), "person_id": pl.Int64(), "program": pl.String(),
    "monthly_amount": pl.Float64(), "level": pl.String(), "care_hours": pl.Float64()}
SKIPPED_COLUMNS: dict[str, pl.DataType] = {"household_id": pl.Int64(), "area_code": pl.String(),
                                           "reason": pl.String()}

HOUSEHOLDS, MEMBERS = "households.parquet", "members.parquet"

# The decisions' text columns are written from Categorical columns, dictionary-encoded in the Parquet file as
# a string column (any reader sees text; read_output casts back to String). A chunk's 2M decision rows repeat
# a few hundred texts: encoding them from codes took half the CPU of encoding each string, a tenth of a 10M run.
WRITTEN_DECISIONS = {n: pl.Categorical() if t == pl.String() else t for n, t in DECISION_COLUMNS.items()}


def typed(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """The frame's columns of an output layout, in its order and types."""
    return df.select([pl.col(n).cast(t) for n, t in columns.items()])


def empty_outputs() -> dict[str, pl.DataFrame]:
    """The output frames of a batch with no households."""
    return {"decisions": pl.DataFrame(schema=DECISION_COLUMNS), "members": pl.DataFrame(schema=MEMBER_COLUMNS),
            "skipped": pl.DataFrame(schema=SKIPPED_COLUMNS)}


def outputs(d: Decisions) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """An evaluated batch in the output layout (``decisions``, ``members``, ``skipped``), and its counts
    (households decided, households skipped, members counted)."""
    out = empty_outputs()
    if d.households.height:
        # Categorical before the eight programs repeat them: the household's texts are coded once, not 8 times.
        h = d.households.with_columns(pl.col("area_code", "township", "pack_region").cast(pl.Categorical()))
        out["decisions"] = typed(decision_rows(replace(d, households=h)), WRITTEN_DECISIONS)
        out["members"] = typed(member_rows(d), MEMBER_COLUMNS)
    if d.skipped is not None and d.skipped.height:
        out["skipped"] = typed(d.skipped, SKIPPED_COLUMNS)
    counted = int(d.members["counted"].sum()) if d.members.height else 0
    return out, {"households": d.households.height, "skipped": out["skipped"].height, "counted": counted}


def parquet_glob(path: Path) -> str:
    """A Parquet file, or every Parquet file under a directory (Spark writes part files)."""
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def read_output(out: Path, part: str) -> pl.DataFrame:
    """One output of an assessment written as Parquet (``decisions``, ``members`` or ``skipped``) as a frame."""
    columns = {"decisions": DECISION_COLUMNS, "members": MEMBER_COLUMNS, "skipped": SKIPPED_COLUMNS}[part]
    files = sorted((out / part).glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=columns)
    return pl.read_parquet(files).select([pl.col(n).cast(t) for n, t in columns.items()])


def write_part(frames: dict[str, pl.DataFrame], staging: Path, partition: int, attempt: int) -> None:
    """Write one partition's outputs as ``<output>/part-<partition>.parquet`` under `staging` (an empty output
    is not written). Each file is written under a hidden name first and then renamed, so a reader or a
    retried task never sees half a file."""
    for name, df in frames.items():
        if not df.height:
            continue
        folder = staging / name
        folder.mkdir(parents=True, exist_ok=True)
        hidden = folder / f".part-{partition:05d}.{attempt}.tmp"  # Spark and the readers skip dot files
        # zstd at level 1: files as small as at the default level (within 1 %) for two thirds of the CPU.
        df.write_parquet(hidden, compression="zstd", compression_level=1)
        os.replace(hidden, folder / f"part-{partition:05d}.parquet")


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold `out` for one assessment: a second run into the same folder is refused at once, instead of the two
    publishing each other's folders half and half. The lock is the operating system's (flock on the folder
    itself: no file is left in it), so it goes with the process that held it, even one that was killed."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DoudiError(f"另一个测算正在写入结果目录 {out}，本次未作任何更改；请等它结束后再运行") from None
        yield
    finally:
        os.close(fd)  # closing the folder releases the lock


def publish(staging: Path, out: Path) -> None:
    """Put the staged outputs in place of `out`'s (each output folder replaced whole; one with no rows is
    left empty)."""
    for name in OUTPUTS:
        new, old = staging / name, out / name
        if not new.exists():
            new.mkdir(parents=True)
        aside = out / f"_old-{name}-{uuid.uuid4().hex}"
        if old.exists():
            os.replace(old, aside)
        os.replace(new, old)
        shutil.rmtree(aside, ignore_errors=True)
