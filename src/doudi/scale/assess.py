"""``doudi assess --engine spark``: the policy engine's own functions on Spark partitions.

A snapshot in household-id order is cut into even slices of households, and each task reads its own slice and
its members from the Parquet files (:mod:`doudi.scale.slices`): nothing is shuffled. Any other snapshot is
keyed by a hash of the household id into the same number of partitions; each member takes its household's
partition by the same hash of its household id, and the two are cogrouped by it. Either way a partition holds
whole households, and :func:`doudi.policy.engine.evaluate_frames` runs on it unchanged, with the pack of each
county; the driver resolves the packs of the counties it finds and every partition checks it evaluates with
exactly those pack versions. The inputs are never collected to the driver: it reads only the list of counties
and the files' footers.

Each task writes its partition's decisions as Parquet part files itself (Polars, into a staging folder of the
output) and hands Spark one summary row. Handing the decisions back to the JVM to write them cost more than
the rules: every row converted from Arrow into Spark's rows, kept, then scanned once per output. The driver
publishes the staged folders only when every task has succeeded, so a failed job leaves the previous output
as it was; a retried or speculative task rewrites the same part file with the same rows.
"""

from __future__ import annotations

import math
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from doudi.core.errors import DoudiError, FieldError, ValidationFailed
from doudi.policy.engine import evaluate_frames, resolve
from doudi.policy.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, Frames
from doudi.scale.chunked import parquet_files
from doudi.scale.layout import (
    HOUSEHOLDS,
    MEMBERS,
    empty_outputs,
    output_lock,
    outputs,
    publish,
    typed,
    write_part,
)
from doudi.scale.slices import Slices, sorted_slices

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

HOUSEHOLDS_PER_PARTITION = 250_000  # about 1 GiB of frames per task


@dataclass(frozen=True)
class SparkAssessment:
    """What a Spark assessment wrote and found."""

    out: Path
    households: int
    persons: int
    skipped: int
    partitions: int
    pack_versions: dict[str, str]
    sliced: bool  # each task read its slice of a sorted snapshot (else: cogrouped by hash on Spark)


def partition_count(households: int, minimum: int = 8) -> int:
    """At least `minimum` partitions, and more as the registry grows (bounded memory per task)."""
    return max(minimum, math.ceil(households / HOUSEHOLDS_PER_PARTITION))


def _frame(table: pa.Table | pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    df = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return typed(df, schema)


def evaluate_partition(households: pa.Table | pl.DataFrame, members: pa.Table | pl.DataFrame, on: date,
                       versions: dict[str, str]) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Evaluate the whole households of one partition (and their members) with the engine: its
    ``decisions``, ``members`` and ``skipped`` frames (the output layout), and its summary row (households
    decided, households skipped, members counted).

    Fails when this process resolves a region's pack to another version than the driver did (a worker
    deployed with other pack files must never decide silently with them).
    """
    hh = _frame(households, HOUSEHOLD_SCHEMA)
    if not hh.height:  # a slice of an area run may hold none of the area's households
        return empty_outputs(), {"households": 0, "skipped": 0, "counted": 0}
    # A member whose household is not in the snapshot has nothing to be decided with (as the single-node
    # engines, which read members by household).
    mem = _frame(members, MEMBER_SCHEMA).filter(pl.col("household_id").is_in(hh["household_id"].implode()))
    frames = Frames(hh, mem)
    d = evaluate_frames(frames, on, skip_unconfigured=True, decisions_only=True)
    for region, pack in d.packs.items():
        if versions.get(region) != pack.version:
            raise RuntimeError(f"参数包 {region} 版本不一致：驱动端 {versions.get(region)}，执行端 {pack.version}")
    return outputs(d)


# What each task hands back to Spark: one row per partition.
SUMMARY_DDL = "households bigint, skipped bigint, counted bigint"


def _partition_fn(on: date, versions: dict[str, str], staging: str, partition_of: dict[int, int]
                  ) -> Callable[[tuple[Any, ...], pa.Table, pa.Table], pa.Table]:
    def run(key: tuple[Any, ...], households: pa.Table, members: pa.Table) -> pa.Table:
        # Imported here: this runs in Spark's Python worker (PySpark is an optional extra).
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition, attempt = partition_of[int(key[0].as_py())], ctx.attemptNumber() if ctx is not None else 0
        frames, summary = evaluate_partition(households, members, on, versions)
        write_part(frames, Path(staging), partition, attempt)
        return pa.table({k: pa.array([v], pa.int64()) for k, v in summary.items()})

    return run


def _slice_fn(on: date, versions: dict[str, str], staging: str, slices: Slices, area: str
              ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Imported here: this runs in Spark's Python worker (PySpark is an optional extra).
        from pyspark import TaskContext

        ctx = TaskContext.get()
        attempt = ctx.attemptNumber() if ctx is not None else 0
        for batch in batches:
            for index in batch.column(0).to_pylist():
                households = slices.households_of(index, area)
                frames, summary = evaluate_partition(households, slices.members_of(households), on, versions)
                write_part(frames, Path(staging), index, attempt)
                yield pa.RecordBatch.from_pydict({k: pa.array([v], pa.int64()) for k, v in summary.items()})

    return run


def task_error(exc: Exception) -> str:
    """The exception that stopped a task, from a failed Spark job's message (its last ``…Error: …`` line that
    is not the JVM's), or the message's first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", line)
              and not line.startswith(("org.apache.", "java.", "py4j."))]
    found = raised[-1] if raised else (lines[0] if lines else type(exc).__name__)
    return found if len(found) <= 300 else found[:300] + "…"


# The assessment's cogroup runs one task per partition (see task_keys): adaptive execution would merge
# partitions under 64 MB into fewer tasks, and at 1M households put the work of 8 on 3 tasks.
ONE_TASK_PER_PARTITION = {"spark.sql.adaptive.coalescePartitions.enabled": "false"}
# Rows reach each Python task in Arrow batches of this many (Spark's default is 10,000): a 250,000-household
# partition came in about 90 batches, each one a round of the JVM's writer and of the worker's reader.
ARROW_BATCH = {"spark.sql.execution.arrow.maxRecordsPerBatch": "50000"}


@contextmanager
def _settings(spark: SparkSession, values: dict[str, str]) -> Iterator[None]:
    """The session's SQL settings changed for one job, and put back after it."""
    before = {k: spark.conf.get(k, None) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, old in before.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def task_keys(spark: SparkSession, n: int) -> list[int]:
    """For each of `n` partitions, an int key that Spark's hash partitioning into `n` (Murmur3 with seed 42, as
    ``hash``) sends to that partition, so that a cogroup on it runs each partition as its own task.

    Grouped by the partition numbers themselves, several of them hashed to one task and others to none: at 1M
    households, 3 of 8 tasks did all the work and the last ran alone on one core."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    k = F.col("id").cast("int")
    found = (spark.range(0, 64 * n).select(k.alias("k"), F.pmod(F.hash(k), F.lit(n)).alias("p"))
             .groupBy("p").agg(F.min("k").alias("k")).collect())
    keys = {int(r["p"]): int(r["k"]) for r in found}
    return [keys[p] for p in range(n)]  # 64 candidates per partition: one missing is beyond any chance


def keyed_inputs(spark: SparkSession, snapshot: Path, partitions: int, area: str = ""
                 ) -> tuple[DataFrame, DataFrame]:
    """Households and their members, each row with its partition ``_part`` (a hash of the household id)."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    for name in (HOUSEHOLDS, MEMBERS):
        if not (snapshot / name).exists():
            raise ValidationFailed([FieldError(field="--snapshot", message=f"快照缺少 {snapshot / name}")])
    # A file, or a folder of part files at any depth (Hadoop's glob reads "**" as one level, not any number).
    read = spark.read.option("recursiveFileLookup", "true")
    hh, mem = read.parquet(str(snapshot / HOUSEHOLDS)), read.parquet(str(snapshot / MEMBERS))
    if area:
        hh = hh.where(F.col("area_code").startswith(area))
        # Only the area's members are shuffled (a township of a province is a small share of its members).
        mem = mem.join(hh.select("household_id"), on="household_id", how="left_semi")
    # The household id alone keys the partition, so each member computes its own: keyed by (county, hash), it
    # took a join of every member with its household on Spark, a shuffle of all members more, a fifth of a
    # 10M-household run. The county bought nothing: its keys were hashed over all partitions as well, and a
    # partition holds every county's households either way (each decided with its county's pack).
    part = F.pmod(F.xxhash64("household_id"), F.lit(partitions)).cast("int")
    return hh.withColumn("_part", part), mem.withColumn("_part", part)


def spark_type(schema: dict[str, pl.DataType]) -> str:
    """A Spark DDL schema for Polars column types."""
    names = {pl.String: "string", pl.Int64: "bigint", pl.Int32: "int", pl.Int16: "smallint", pl.Int8: "tinyint",
             pl.Float64: "double", pl.Boolean: "boolean", pl.Date: "date"}

    def one(t: Any) -> str:
        if isinstance(t, pl.List):
            return f"array<{one(t.inner)}>"
        return names[type(t)]

    return ", ".join(f"{n} {one(t)}" for n, t in schema.items())


def _cogrouped(spark: SparkSession, hh: DataFrame, mem: DataFrame, partitions: int, on: date,
               versions: dict[str, str], staging: str) -> list[Any]:
    """The summary rows of the households and members cogrouped by their partition key, a task each."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    ids = task_keys(spark, partitions)
    task = F.element_at(F.array(*[F.lit(k) for k in ids]), F.col("_part") + 1)
    fn = _partition_fn(on, versions, staging, {k: p for p, k in enumerate(ids)})
    job = ONE_TASK_PER_PARTITION | ARROW_BATCH | {"spark.sql.shuffle.partitions": str(partitions)}
    with _settings(spark, job):
        return (hh.withColumn("_task", task).groupBy("_task")
                .cogroup(mem.withColumn("_task", task).groupBy("_task")).applyInArrow(fn, SUMMARY_DDL).collect())


def assess(spark: SparkSession, *, snapshot: Path, on: date, out: Path, area: str = "",
           partitions: int | None = None) -> SparkAssessment:
    """Assess a Parquet snapshot on Spark; write ``decisions/``, ``members/`` and ``skipped/`` under `out`."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    try:
        for name in (HOUSEHOLDS, MEMBERS):  # each missing file named, households first
            parquet_files(snapshot / name)
        if partitions is None:
            counted = pl.scan_parquet(parquet_files(snapshot / HOUSEHOLDS)).select(pl.len()).collect().item()
            partitions = partition_count(int(counted))
        hh, mem = keyed_inputs(spark, snapshot, partitions, area)
        counties = [r[0] for r in hh.select(F.substring("area_code", 1, 6)).distinct().collect()]
        slices = sorted_slices(snapshot, partitions)
    except FileNotFoundError as exc:
        raise ValidationFailed([FieldError(field="--snapshot", message=str(exc))]) from None
    except (PySparkException, pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        # A corrupt or unreadable Parquet file: its reader's own words, before anything is written.
        raise DoudiError(f"读取快照失败，原结果目录未改动：{task_error(exc)}") from exc
    problems: dict[str, str] = {}
    _, packs, _ = resolve(counties, on, problems=problems)
    versions = {region: pack.version for region, pack in packs.items() if region not in problems}
    out.mkdir(parents=True, exist_ok=True)
    # Inside the output folder: publishing is then a rename on the same file system.
    staging = out / f"_staging-{uuid.uuid4().hex}"
    try:
        with output_lock(out):
            if slices is not None:
                # One task per slice, each reading its own rows: nothing is shuffled.
                fn = _slice_fn(on, versions, str(staging), slices, area)
                rows = spark.range(0, partitions, 1, partitions).mapInArrow(fn, SUMMARY_DDL).collect()
            else:
                rows = _cogrouped(spark, hh, mem, partitions, on, versions, str(staging))
            publish(staging, out)
    except PySparkException as exc:
        raise DoudiError(f"Spark 作业失败，原结果目录未改动：{task_error(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SparkAssessment(out=out, households=sum(int(r["households"]) for r in rows),
                           persons=sum(int(r["counted"]) for r in rows),
                           skipped=sum(int(r["skipped"]) for r in rows),
                           partitions=partitions, pack_versions=versions, sliced=slices is not None)
