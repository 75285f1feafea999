"""Cross-county duplicates (重复, 多头) at province scale: Splink's Spark backend with the DuckDB path's settings.

The persons of every county (``record_id, name, id_number, birth_date, sex, address, area_code``) are
prepared by the linkage domain's own Polars function on each partition (``mapInArrow``), then deduplicated
by Splink on Spark with the same comparisons, blocking rules, packaged m/u parameters and thresholds as
:func:`doudi.verification.linkage.engine.link_frames`; a pair whose two records lie in different counties
is a cross-county duplicate. The comparisons are written in DuckDB's SQL; Splink translates them to
Spark's, and the similarity functions come from the jar Splink ships (no Maven).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from doudi.verification.linkage.model import comparisons, load_config, prediction_rules
from doudi.verification.linkage.prepare import prepare_persons

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INPUT = ["record_id", "name", "id_number", "birth_date", "sex", "address"]
SPARK_TYPES = {pl.String: "string", pl.Boolean: "boolean", pl.Int32: "int", pl.Int64: "bigint", pl.Float64: "double"}


def prepared_columns() -> dict[str, str]:
    """The columns the linkage domain's `prepare_persons` gives (whatever its comparisons need), with their
    Spark types, plus the county's area code and the settled flag."""
    # One sample row (an empty frame has no types to give): the ID number's check digit is valid.
    sample = dict(zip(INPUT, ["0", "王建国", "370784197005011018", "1970-05-01", "M", "新安街道"], strict=True))
    out = prepare_persons(pl.DataFrame([sample], schema={c: pl.String for c in INPUT}))
    cols = {name: SPARK_TYPES.get(dtype.base_type(), "string") for name, dtype in out.schema.items()}
    return cols | {"area_code": "string", "settled": "boolean"}


PREPARED = list(prepared_columns())


@dataclass(frozen=True)
class Duplicates:
    """Cross-county pairs written, and the candidate pairs scored above the review threshold."""

    pairs: int
    scored: int


def _prepare_fn(schema: pa.Schema) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            raw = pl.from_arrow(batch)
            assert isinstance(raw, pl.DataFrame)
            out = prepare_persons(raw).with_columns(area_code=raw["area_code"].cast(pl.String),
                                                    settled=pl.lit(False))
            yield from out.select(PREPARED).to_arrow().cast(schema).to_batches()

    return run


def spark_comparisons() -> list[Any]:
    """The linkage comparisons, marked as written in DuckDB's SQL so that Splink translates them for Spark."""
    out = []
    for comparison in comparisons("spark"):
        c = copy.deepcopy(comparison)
        for level in getattr(c, "comparison_levels", []):
            if hasattr(level, "base_dialect_str") and level.base_dialect_str is None:
                level.base_dialect_str = "duckdb"
        out.append(c)
    return out


def cross_county_duplicates(spark: SparkSession, *, persons: Path, out: Path) -> Duplicates:
    """Score every candidate pair of the persons on Spark; write ``pairs/`` (left/right record, both counties,
    probability, accepted or review) for pairs whose records lie in different counties."""
    # Imported here: Splink's Spark backend and PySpark are loaded only by this job.
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import DoubleType
    from splink import Linker, SettingsCreator
    from splink.backends.spark import SparkAPI

    from doudi.verification.linkage.engine import _default_model

    cfg = load_config()
    ddl = ", ".join(f"{c} {t}" for c, t in prepared_columns().items())
    schema = to_arrow_schema(spark.createDataFrame([], ddl).schema)
    raw = spark.read.parquet(str(persons)).select("record_id", "name", "id_number", "birth_date", "sex", "address",
                                                  "area_code")
    prepared = raw.mapInArrow(_prepare_fn(schema), ddl)
    # A valid ID number held by several records settles them: the exact-ID rule pairs them, the others skip them.
    shared = prepared.where(F.col("id18").isNotNull()).groupBy("id18").count().where("count > 1").select("id18")
    prepared = (prepared.drop("settled").join(shared.withColumn("settled", F.lit(True)), on="id18", how="left")
                .withColumn("settled", F.coalesce("settled", F.lit(False))).select(*PREPARED)).persist()
    shuffle = int(spark.conf.get("spark.sql.shuffle.partitions") or 8)
    api = SparkAPI(spark_session=spark, break_lineage_method="persist",  # type: ignore[no-untyped-call]
                   num_partitions_on_repartition=shuffle)
    # The comparisons' DuckDB function name, answered by the jar's class (Splink registers it as jaro_winkler).
    spark.udf.registerJavaFunction("jaro_winkler_similarity", "uk.gov.moj.dash.linkage.JaroWinklerSimilarity",
                                   DoubleType())
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="record_id", comparisons=spark_comparisons(),
        blocking_rules_to_generate_predictions=list(prediction_rules()),  # type: ignore[arg-type]
        probability_two_random_records_match=1e-6, retain_matching_columns=False,
        retain_intermediate_calculation_columns=False)
    linker = Linker(api.register(prepared, table_name="lk_persons"), settings, log_level=logging.WARNING)
    _default_model(linker, cfg.defaults)
    predicted = linker.inference.predict(threshold_match_probability=cfg.thresholds.review).as_spark_dataframe()
    county = prepared.select("record_id", F.substring("area_code", 1, 6).alias("county"))
    pairs = (predicted.select(F.col("record_id_l").alias("left_id"), F.col("record_id_r").alias("right_id"),
                              "match_probability")
             .join(county.withColumnRenamed("record_id", "left_id").withColumnRenamed("county", "left_county"),
                   on="left_id")
             .join(county.withColumnRenamed("record_id", "right_id").withColumnRenamed("county", "right_county"),
                   on="right_id")
             .where(F.col("left_county") != F.col("right_county"))
             .withColumn("accepted", F.col("match_probability") >= F.lit(cfg.thresholds.auto_accept)))
    pairs.write.mode("overwrite").parquet(str(out / "pairs"))
    written = spark.read.parquet(str(out / "pairs"))
    result = Duplicates(pairs=written.count(), scored=predicted.count())
    prepared.unpersist()
    return result
