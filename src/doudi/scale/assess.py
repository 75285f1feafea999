"""``doudi assess --engine spark``: the policy engine's own functions on Spark partitions.

Households are keyed by county and a hash of their id into at least eight partitions; each member follows
its household by a join on Spark, so a partition holds whole households. On each partition
:func:`doudi.policy.engine.evaluate_frames` runs unchanged (``mapInArrow``), with the pack of each county;
the driver resolves the packs of the counties it finds and every partition checks it evaluates with exactly
those pack versions. The inputs are never collected to the driver: it reads only the list of counties.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from doudi.core.errors import FieldError, ValidationFailed
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.engine import evaluate_frames, resolve
from doudi.policy.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, Frames
from doudi.policy.programs import keys
from doudi.scale.layout import (
    COUNT,
    DECISION,
    DECISION_COLUMNS,
    HOUSEHOLDS,
    MEMBER,
    MEMBER_COLUMNS,
    MEMBERS,
    OUTPUT_COLUMNS,
    SKIPPED,
    SKIPPED_COLUMNS,
    parquet_glob,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

HOUSEHOLDS_PER_PARTITION = 250_000  # about 1 GiB of frames per task
BUCKETS_PER_PARTITION = 64  # household hash buckets per partition (an even spread, see keyed_inputs)


@dataclass(frozen=True)
class SparkAssessment:
    """What a Spark assessment wrote and found."""

    out: Path
    households: int
    persons: int
    skipped: int
    partitions: int
    pack_versions: dict[str, str]


def partition_count(households: int, minimum: int = 8) -> int:
    """At least `minimum` partitions, and more as the registry grows (bounded memory per task)."""
    return max(minimum, math.ceil(households / HOUSEHOLDS_PER_PARTITION))


def _frame(table: pa.Table, kind: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return df.filter(pl.col("_kind") == kind).select([pl.col(n).cast(t) for n, t in schema.items()])


def _shape(df: pl.DataFrame, kind: str) -> pl.DataFrame:
    """A part of the output in the one output schema (other kinds' columns null)."""
    return df.select([pl.lit(kind).alias("kind"), *[
        (pl.col(n) if n in df.columns else pl.lit(None)).cast(t).alias(n)
        for n, t in OUTPUT_COLUMNS.items() if n != "kind"]])


def evaluate_partition(table: pa.Table, on: date, versions: dict[str, str]) -> pl.DataFrame:
    """Evaluate the whole households of one partition (rows tagged ``_kind`` h / m) with the engine.

    Fails when this process resolves a region's pack to another version than the driver did (a worker
    deployed with other pack files must never decide silently with them).
    """
    frames = Frames(_frame(table, "h", HOUSEHOLD_SCHEMA), _frame(table, "m", MEMBER_SCHEMA))
    d = evaluate_frames(frames, on, skip_unconfigured=True)
    for region, pack in d.packs.items():
        if versions.get(region) != pack.version:
            raise RuntimeError(f"参数包 {region} 版本不一致：驱动端 {versions.get(region)}，执行端 {pack.version}")
    parts = []
    if d.households.height:
        parts.append(_shape(decision_rows(d), DECISION))
        parts.append(_shape(member_rows(d), MEMBER))
    if d.skipped is not None and d.skipped.height:
        parts.append(_shape(d.skipped, SKIPPED))
    counted = int(d.members["counted"].sum()) if d.members.height else 0
    parts.append(_shape(pl.DataFrame({"counted": [counted]}), COUNT))
    return pl.concat(parts, how="vertical")


def _partition_fn(on: date, versions: dict[str, str], schema: pa.Schema
                  ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        collected = list(batches)
        if not collected:
            return
        out = evaluate_partition(pa.Table.from_batches(collected), on, versions)
        yield from out.to_arrow().cast(schema).to_batches()

    return run


def keyed_inputs(spark: SparkSession, snapshot: Path, partitions: int, area: str = "") -> DataFrame:
    """Households and members in one frame (``_kind`` h / m), partitioned by county and household hash."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    for name in (HOUSEHOLDS, MEMBERS):
        if not (snapshot / name).exists():
            raise ValidationFailed([FieldError(field="--snapshot", message=f"快照缺少 {snapshot / name}")])
    hh = spark.read.parquet(parquet_glob(snapshot / HOUSEHOLDS))
    if area:
        hh = hh.where(F.col("area_code").startswith(area))
    # Many buckets per partition: Spark hashes each (county, bucket) key to a partition, and with one bucket per
    # partition the few keys collided (10k to 187k households in the 8 partitions of a 1M registry; the largest
    # task sets the wall time). With 64 per partition they land within 117k to 133k.
    hh = hh.withColumn("_county", F.substring("area_code", 1, 6)).withColumn(
        "_bucket", F.pmod(F.xxhash64("household_id"), F.lit(partitions * BUCKETS_PER_PARTITION)))
    mem = spark.read.parquet(parquet_glob(snapshot / MEMBERS)).join(
        hh.select("household_id", "_county", "_bucket"), on="household_id", how="inner")
    both = (hh.withColumn("_kind", F.lit("h"))
            .unionByName(mem.withColumn("_kind", F.lit("m")), allowMissingColumns=True))
    return both.repartition(partitions, "_county", "_bucket")


def spark_type(schema: dict[str, pl.DataType]) -> str:
    """A Spark DDL schema for Polars column types."""
    names = {pl.String: "string", pl.Int64: "bigint", pl.Int32: "int", pl.Int16: "smallint", pl.Int8: "tinyint",
             pl.Float64: "double", pl.Boolean: "boolean", pl.Date: "date"}

    def one(t: Any) -> str:
        if isinstance(t, pl.List):
            return f"array<{one(t.inner)}>"
        return names[type(t)]

    return ", ".join(f"{n} {one(t)}" for n, t in schema.items())


def assess(spark: SparkSession, *, snapshot: Path, on: date, out: Path, area: str = "",
           partitions: int | None = None) -> SparkAssessment:
    """Assess a Parquet snapshot on Spark; write ``decisions/``, ``members/`` and ``skipped/`` under `out`."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.storagelevel import StorageLevel

    if partitions is None:
        meta = pl.scan_parquet(parquet_glob(snapshot / HOUSEHOLDS)).select(pl.len()).collect().item()
        partitions = partition_count(int(meta))
    keyed = keyed_inputs(spark, snapshot, partitions, area)
    counties = [r[0] for r in keyed.where(F.col("_kind") == "h").select("_county").distinct().collect()]
    problems: dict[str, str] = {}
    _, packs, _ = resolve(counties, on, problems=problems)
    versions = {region: pack.version for region, pack in packs.items() if region not in problems}
    ddl = spark_type(OUTPUT_COLUMNS)
    arrow_schema = to_arrow_schema(spark.createDataFrame([], ddl).schema)
    result = keyed.mapInArrow(_partition_fn(on, versions, arrow_schema), ddl).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for part, kind, columns in (("decisions", DECISION, DECISION_COLUMNS), ("members", MEMBER, MEMBER_COLUMNS),
                                    ("skipped", SKIPPED, SKIPPED_COLUMNS)):
            (result.where(F.col("kind") == kind).select(*columns).write.mode("overwrite")
             .parquet(str(out / part)))
        totals: Any = result.where(F.col("kind") != MEMBER).groupBy("kind").agg(
            F.count("*").alias("rows"), F.sum("counted").alias("counted")).collect()
    finally:
        result.unpersist()
    by_kind = {r["kind"]: r for r in totals}
    decisions = int(by_kind[DECISION]["rows"]) if DECISION in by_kind else 0
    return SparkAssessment(out=out, households=decisions // max(len(keys()), 1),
                           persons=int(by_kind[COUNT]["counted"] or 0) if COUNT in by_kind else 0,
                           skipped=int(by_kind[SKIPPED]["rows"]) if SKIPPED in by_kind else 0,
                           partitions=partitions, pack_versions=versions)
