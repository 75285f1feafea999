"""The Parquet layouts the Spark jobs read and write (documented in the README, section "Province scale").

Inputs (a snapshot directory, as ``doudi assess --export-snapshot`` writes it)::

    households.parquet   one row per household  (policy.frames.HOUSEHOLD_SCHEMA)
    members.parquet      one row per member     (policy.frames.MEMBER_SCHEMA), keyed by household_id

Either may also be a directory of Parquet part files (a warehouse export). Outputs of an assessment::

    decisions/   one row per household and program: household_id, area_code, township, program, eligible,
                 monthly_amount, level, persons, reasons (codes, comma-separated), pack_region, pack_version
    members/     one row per entitled person: household_id, member_idx, person_id, program, monthly_amount,
                 level, care_hours
    skipped/     households whose region has no complete pack: household_id, area_code, reason

Monitoring inputs are one Parquet file per frame of :class:`doudi.monitoring.rules.base.Inputs`
(``members``, ``enrollments``, ``feed``, ``grants``, ``decisions``, ``refusals``, ``standards``, ``incomes``);
its output ``warnings/`` holds one row per rule and subject, as :func:`doudi.monitoring.run.group_hits` gives.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

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


def parquet_glob(path: Path) -> str:
    """A Parquet file, or every Parquet file under a directory (Spark writes part files)."""
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def read_output(out: Path, part: str) -> pl.DataFrame:
    """One output of a Spark assessment (``decisions``, ``members`` or ``skipped``) as a Polars frame."""
    columns = {"decisions": DECISION_COLUMNS, "members": MEMBER_COLUMNS, "skipped": SKIPPED_COLUMNS}[part]
    files = sorted((out / part).glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=columns)
    return pl.read_parquet(files).select([pl.col(n).cast(t) for n, t in columns.items()])
