"""``doudi monitor run --engine spark``: the monitoring domain's own rule functions on Spark partitions.

The inputs (:class:`doudi.monitoring.rules.base.Inputs`, one Parquet file per frame) are keyed by county:
members, enrollments and standards carry it; grants, decisions, refusals and incomes take their household's;
feed rows their linked person's (else the batch's area); grants, decisions, refusals, incomes and rigid
expenses take their household's. A county is one partition, so the rules that compare households with each
other (a person in two households, 重复) see the whole county, exactly as the single-node run of that county
does. Each partition runs :func:`doudi.monitoring.run.evaluate` and :func:`doudi.monitoring.run.group_hits`
unchanged, with the rule specs and parameters the driver resolved from the pack.

Across counties: the people listed in enrolled households of two or more counties (by stored person id) are
few; their memberships and enrollments are collected to the driver, where the same 重复 rule and
:func:`doudi.monitoring.run.above_counties` make one warning of the area above the counties and each county's
side (``sides/``), as a single-node run above the counties does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from doudi.core.errors import DoudiError, FieldError, ValidationFailed
from doudi.monitoring.rules.base import (
    DECISION_SCHEMA,
    ENROLLMENT_SCHEMA,
    EXPENSE_SCHEMA,
    FEED_SCHEMA,
    GRANT_SCHEMA,
    INCOME_SCHEMA,
    LIVE,
    MEMBER_SCHEMA,
    REFUSAL_SCHEMA,
    STANDARD_SCHEMA,
    Inputs,
)
from doudi.monitoring.run import SIDE_SCHEMA, RuleSpec, above_counties, evaluate, fingerprints, group_hits, rule_specs
from doudi.policy.params import load_pack
from doudi.scale.assess import spark_type, task_error

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FRAMES: dict[str, dict[str, pl.DataType]] = {
    "members": MEMBER_SCHEMA, "enrollments": ENROLLMENT_SCHEMA, "feed": FEED_SCHEMA, "grants": GRANT_SCHEMA,
    "decisions": DECISION_SCHEMA, "refusals": REFUSAL_SCHEMA, "standards": STANDARD_SCHEMA,
    "incomes": INCOME_SCHEMA, "expenses": EXPENSE_SCHEMA}
HOUSEHOLD_KEYED = ("grants", "decisions", "refusals", "incomes", "expenses")
WARNING_COLUMNS: dict[str, pl.DataType] = {
    "rule_key": pl.String(), "subject_key": pl.String(), "person_id": pl.Int64(), "household_id": pl.Int64(),
    "id_number": pl.String(), "name": pl.String(), "area_code": pl.String(), "reason": pl.String(),
    "details": pl.List(pl.String()), "evidence": pl.List(pl.String()), "fingerprint": pl.String(),
    "open_key": pl.String()}


def _union_schema() -> dict[str, pl.DataType]:
    """Every frame's columns in one schema (a name means the same type in every frame)."""
    out: dict[str, pl.DataType] = {}
    for schema in FRAMES.values():
        for name, dtype in schema.items():
            if out.setdefault(name, dtype) != dtype:
                raise TypeError(f"column {name} has two types in the monitoring inputs")
    return out


def write_inputs(inp: Inputs, directory: Path) -> None:
    """Write the inputs of a run as the Parquet layout the Spark job reads (one file per frame)."""
    directory.mkdir(parents=True, exist_ok=True)
    conformed = inp.conformed()
    for name in FRAMES:
        getattr(conformed, name).write_parquet(directory / f"{name}.parquet")


def inputs_of(table: pa.Table) -> Inputs:
    """The rules' inputs from one partition's rows (tagged ``_kind`` with the frame name)."""
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    parts = df.partition_by("_kind", as_dict=True)
    frames: dict[str, Any] = {}  # frame name → frame (Inputs takes each by name)
    for name, schema in FRAMES.items():
        part = parts.get((name,), df.clear())
        frames[name] = part.select([pl.col(n).cast(t) for n, t in schema.items()])
    return Inputs(**frames)


def evaluate_partition(table: pa.Table, specs: Mapping[str, RuleSpec], params: Mapping[str, Any],
                       on: date) -> pl.DataFrame:
    """Every rule over one partition's counties, grouped per rule and subject (the single-node functions)."""
    grouped = group_hits(evaluate(inputs_of(table), specs, params, on))
    return grouped.select([pl.col(n).cast(t) for n, t in WARNING_COLUMNS.items()])


def _partition_fn(specs: Mapping[str, RuleSpec], params: Mapping[str, Any], on: date, schema: pa.Schema
                  ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        collected = list(batches)
        if not collected:
            return
        out = evaluate_partition(pa.Table.from_batches(collected), specs, params, on)
        yield from out.to_arrow().cast(schema).to_batches()

    return run


def keyed_inputs(spark: SparkSession, directory: Path, partitions: int) -> DataFrame:
    """All input frames in one Spark frame (``_kind`` = frame name), partitioned by county."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    missing = [n for n in FRAMES if not (directory / f"{n}.parquet").exists()]
    if missing:
        raise ValidationFailed([FieldError(field="--snapshot", message=f"监测输入缺少：{', '.join(missing)}")])
    read = {n: spark.read.parquet(str(directory / f"{n}.parquet")) for n in FRAMES}
    county = F.substring("area_code", 1, 6)
    members = read["members"]
    of_household = members.groupBy("household_id").agg(F.min(county).alias("_county"))
    of_person = members.groupBy("person_id").agg(F.min(county).alias("_person_county"))
    keyed = {
        "members": members.withColumn("_county", county),
        "enrollments": read["enrollments"].withColumn("_county", county),
        "standards": read["standards"].withColumn("_county", F.col("county")),
        "feed": read["feed"].join(of_person, on="person_id", how="left").withColumn(
            "_county", F.coalesce(F.col("_person_county"), county)).drop("_person_county"),
    }
    for name in HOUSEHOLD_KEYED:
        keyed[name] = read[name].join(of_household, on="household_id", how="left")
    union: DataFrame | None = None
    for name, frame in keyed.items():
        tagged = frame.withColumn("_kind", F.lit(name)).withColumn("_county", F.coalesce("_county", F.lit("")))
        union = tagged if union is None else union.unionByName(tagged, allowMissingColumns=True)
    assert union is not None
    return union.repartition(partitions, "_county")


def cross_county(spark: SparkSession, directory: Path, specs: Mapping[str, RuleSpec], params: Mapping[str, Any],
                 on: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """重复 across counties: the warnings of the area above the counties (WARNING_COLUMNS) and each county's side
    (SIDE_SCHEMA), from the few people listed in enrolled households of two or more counties."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.sql import functions as F

    none = pl.DataFrame(schema=WARNING_COLUMNS), pl.DataFrame(schema=SIDE_SCHEMA)
    if "duplicate" not in specs:
        return none
    members = spark.read.parquet(str(directory / "members.parquet"))
    enrollments = spark.read.parquet(str(directory / "enrollments.parquet"))
    live = enrollments.where(F.col("status").isin(list(LIVE))).select("household_id").distinct()
    spread = (members.join(live, on="household_id", how="left_semi").groupBy("person_id")
              .agg(F.countDistinct(F.substring("area_code", 1, 6)).alias("n")).where(F.col("n") > 1))
    rows = members.join(spread.select("person_id"), on="person_id", how="left_semi")
    theirs = enrollments.join(rows.select("household_id").distinct(), on="household_id", how="left_semi")
    m, e = (pl.from_arrow(d.toArrow()) for d in (rows, theirs))
    assert isinstance(m, pl.DataFrame) and isinstance(e, pl.DataFrame)
    if m.height == 0:
        return none
    found = evaluate(Inputs(members=m, enrollments=e).conformed(), {"duplicate": specs["duplicate"]}, params, on)
    grouped, sides = above_counties(group_hits(found, fingerprint=False), found)
    above = grouped.join(sides.select("open_key").unique(), on="open_key", how="semi")
    above = above.with_columns(fingerprints(above))
    return above.select([pl.col(n).cast(t) for n, t in WARNING_COLUMNS.items()]), sides


def monitor(spark: SparkSession, *, directory: Path, on: date, out: Path, area: str = "",
            partitions: int = 8) -> dict[str, int]:
    """Run every rule in force for `area`'s pack on Spark; write ``warnings/`` and ``sides/`` (each county's side
    of a warning above the counties) under `out`; warnings per rule."""
    # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    specs = rule_specs(area, on)
    params = dict(load_pack(area or "000000").at(on))  # plain values travel to the executors with the closure
    ddl = spark_type(WARNING_COLUMNS)
    arrow_schema = to_arrow_schema(spark.createDataFrame([], ddl).schema)
    keyed = keyed_inputs(spark, directory, partitions)
    result = keyed.mapInArrow(_partition_fn(specs, params, on, arrow_schema), ddl)
    try:
        above, sides = cross_county(spark, directory, specs, params, on)
        if above.height:
            # A county's partition cannot see the other county: its 重复 of the same person gives way to the one
            # above.
            result = result.where(~((F.col("rule_key") == "duplicate")
                                    & F.col("subject_key").isin(above["subject_key"].to_list())))
            result = result.unionByName(spark.createDataFrame(above.to_arrow().cast(arrow_schema), ddl))
        result.write.mode("overwrite").parquet(str(out / "warnings"))
        (out / "sides").mkdir(parents=True, exist_ok=True)
        sides.write_parquet(out / "sides" / "sides.parquet")
        counts = spark.read.parquet(str(out / "warnings")).groupBy("rule_key").agg(F.count("*").alias("n")).collect()
    except PySparkException as exc:
        raise DoudiError(f"Spark 监测作业失败：{task_error(exc)}") from exc
    return {r["rule_key"]: int(r["n"]) for r in counts}


def read_sides(out: Path) -> pl.DataFrame:
    """Each county's side of the warnings above the counties a Spark monitoring run wrote, sorted."""
    files = sorted((out / "sides").glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=SIDE_SCHEMA)
    return pl.read_parquet(files).sort("open_key", "household_id")


def read_warnings(out: Path) -> pl.DataFrame:
    """The warnings a Spark monitoring run wrote, in the single-node column order, sorted like group_hits."""
    files = sorted((out / "warnings").glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=WARNING_COLUMNS)
    return pl.read_parquet(files).select([pl.col(n).cast(t) for n, t in WARNING_COLUMNS.items()]).sort(
        "rule_key", "subject_key")

