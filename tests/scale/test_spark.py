"""The Spark engine gives exactly the single-node results: the same rule functions on local[2] partitions.

One Spark session for the module (starting the JVM and the Python workers is most of the time).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from doudi.auth.permissions import system_actor
from doudi.cli import app
from doudi.core.errors import DoudiError, ValidationFailed
from doudi.monitoring.rules.base import Inputs
from doudi.monitoring.run import above_counties, evaluate, fingerprints, group_hits, rule_specs
from doudi.policy.batch import decision_rows, member_rows, store_assessment
from doudi.policy.engine import evaluate_frames
from doudi.policy.frames import Frames, conform, write_snapshot
from doudi.policy.models import AssessmentDecision
from doudi.policy.params import load_pack
from doudi.scale.assess import assess, keyed_inputs, partition_count, task_keys
from doudi.scale.layout import DECISION_COLUMNS, MEMBER_COLUMNS, read_output
from doudi.scale.linkage import cross_county_duplicates
from doudi.scale.monitor import monitor, read_sides, read_warnings, write_inputs
from doudi.scale.session import java_missing, spark_session
from testkit.persons import link_pair
from testkit.population import generate
from testkit.snapshots import write_parts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ON = date(2025, 6, 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """A local Spark with two cores (CI installs Java; elsewhere the module is skipped without it)."""
    if java_missing() and not os.environ.get("CI"):
        pytest.skip("no Java runtime (make system-deps installs default-jre-headless)")
    # Two shuffle partitions for the joins of two cores; the jobs set their own (≥ 8) input partitions.
    session = spark_session("local[2]", app="doudi-tests", partitions=2)
    yield session
    session.stop()


def test_partition_count() -> None:
    """At least 8 partitions; 250 000 households each beyond 2 000 000 (10 000 000 / 250 000 = 40)."""
    assert partition_count(20_000) == 8
    assert partition_count(10_000_000) == 40


def test_partitions_share_the_households_evenly(spark: SparkSession, tmp_path: Path) -> None:
    """20 000 households in 8 partitions: 2 500 each if the split were exact; every partition holds between
    2 000 and 3 000 (keyed by county and one hash bucket per partition, the 6 counties' 48 keys collided far
    outside that). Every member is in its household's partition, and none is lost."""
    from pyspark.sql import functions as F

    frames = conform(generate(20_000, on=ON))
    write_snapshot(frames, tmp_path / "snapshot")
    households, members = keyed_inputs(spark, tmp_path / "snapshot", 8)
    sizes = sorted(r["count"] for r in households.groupBy("_part").count().collect())
    assert len(sizes) == 8 and sum(sizes) == 20_000
    assert sizes[0] >= 2_000 and sizes[-1] <= 3_000
    theirs = members.join(households.select("household_id", F.col("_part").alias("own")), on="household_id")
    assert theirs.where(F.col("_part") != F.col("own")).count() == 0
    assert members.count() == frames.members.height


def test_each_partition_is_its_own_task(spark: SparkSession) -> None:
    """The 8 task keys, hash-partitioned into 8 as a cogroup on them is, land one in each partition (the
    partition numbers 0–7 themselves would share some and leave others empty)."""
    from pyspark.sql import functions as F

    keys = task_keys(spark, 8)
    placed = spark.createDataFrame([(k,) for k in keys], "k int").repartition(8, "k").select(
        "k", F.spark_partition_id().alias("p")).collect()
    assert sorted(r["p"] for r in placed) == list(range(8))
    assert {r["k"]: r["p"] for r in placed} == {k: p for p, k in enumerate(keys)}
    plain = spark.createDataFrame([(k,) for k in range(8)], "k int").repartition(8, "k").select(
        F.spark_partition_id().alias("p")).distinct().count()
    assert plain < 8


def test_each_task_runs_polars_on_one_thread(spark: SparkSession) -> None:
    """Two tasks on local[2]: each Python worker's Polars has one thread (not one per core each: 2 × 2)."""
    def pool(rows: Iterable[int]) -> Iterator[tuple[str | None, int]]:
        import polars

        list(rows)
        yield os.environ.get("POLARS_MAX_THREADS"), polars.thread_pool_size()

    assert spark.sparkContext.parallelize(range(4), 2).mapPartitions(pool).collect() == [("1", 1), ("1", 1)]


def test_assessment_parity(spark: SparkSession, tmp_path: Path) -> None:
    """20 000 synthetic households (安丘 and 江门's counties) plus one in 北京 东城 (no county pack): every
    decision — eligibility, amount, level, persons, reasons, pack version — and every member entitlement is
    identical on Spark and on Polars; the 北京 household is set aside by both."""
    frames = conform(generate(20_000, on=ON))
    beijing = frames.households.head(1).with_columns(household_id=pl.lit(99_999_999, pl.Int64),
                                                     area_code=pl.lit("110101001001"))
    members = frames.members.head(1).with_columns(household_id=pl.lit(99_999_999, pl.Int64))
    frames = Frames(pl.concat([frames.households, beijing]), pl.concat([frames.members, members]))
    # A member of a household the snapshot does not hold: decided with nobody, on Spark as on one node.
    orphan = frames.members.head(1).with_columns(household_id=pl.lit(88_888_888, pl.Int64),
                                                 person_id=pl.lit(88_888_888, pl.Int64))
    write_snapshot(Frames(frames.households, pl.concat([frames.members, orphan])), tmp_path / "snapshot")
    settings = ("spark.sql.shuffle.partitions", "spark.sql.adaptive.coalescePartitions.enabled")
    spark.conf.set(settings[0], "2")  # not the job's 8 (a CLI test may have left the shared session at 8)
    before = {k: spark.conf.get(k) for k in settings}

    result = assess(spark, snapshot=tmp_path / "snapshot", on=ON, out=tmp_path / "out")

    single = evaluate_frames(frames, ON, skip_unconfigured=True)
    keys = ["household_id", "program"]
    want = decision_rows(single).select(list(DECISION_COLUMNS)).sort(keys)
    got = read_output(tmp_path / "out", "decisions").sort(keys)
    # 20 000 households × 8 programs = 160 000 decisions; the 北京 household is not among them.
    assert got.height == 160_000 and result.households == 20_000 and result.partitions == 8 and result.sliced
    # The text columns, written dictionary-encoded, are strings to Spark.
    written = spark.read.parquet(str(tmp_path / "out" / "decisions")).schema
    assert {written[c].dataType.simpleString() for c in ("area_code", "reasons", "pack_version")} == {"string"}
    assert got.equals(want)
    mkeys = ["household_id", "member_idx", "program"]
    assert read_output(tmp_path / "out", "members").sort(mkeys).equals(
        member_rows(single).select(list(MEMBER_COLUMNS)).sort(mkeys))
    assert read_output(tmp_path / "out", "skipped")["household_id"].to_list() == [99_999_999]
    assert result.persons == int(single.members["counted"].sum())
    assert result.pack_versions == {r: p.version for r, p in single.packs.items()}
    # The job's own settings (8 shuffle partitions, no merging of small ones) are the session's again.
    assert {k: spark.conf.get(k) for k in settings} == before

    # One county (开平, 440783): its households alone, decided as in the whole run.
    kaiping = assess(spark, snapshot=tmp_path / "snapshot", on=ON, out=tmp_path / "kaiping", area="440783")
    mine = want.filter(pl.col("area_code").str.starts_with("440783"))
    assert mine.height > 0 and kaiping.households * 8 == mine.height
    assert read_output(tmp_path / "kaiping", "decisions").sort(keys).equals(mine)


@pytest.mark.parametrize("layout", ["sorted parts", "shuffled"])
def test_parity_on_either_layout(spark: SparkSession, tmp_path: Path, layout: str) -> None:
    """6 000 households (48 000 decisions), decided as on one node either way: sorted by household id in 3 part
    files of row groups of 500, each task reads its own slice; shuffled (row groups of 500 whose id ranges
    overlap), households and members are cogrouped by hash on Spark."""
    frames = conform(generate(6_000, seed=11, on=ON))
    if layout == "shuffled":
        frames = Frames(frames.households.sample(fraction=1.0, shuffle=True, seed=3),
                        frames.members.sample(fraction=1.0, shuffle=True, seed=4))
    for name, df in (("households.parquet", frames.households), ("members.parquet", frames.members)):
        write_parts(df, tmp_path / "snap" / name, parts=3, groups=500)

    result = assess(spark, snapshot=tmp_path / "snap", on=ON, out=tmp_path / "out")

    assert result.sliced is (layout == "sorted parts") and result.households == 6_000
    keys = ["household_id", "program"]
    want = decision_rows(evaluate_frames(frames, ON, skip_unconfigured=True)).select(list(DECISION_COLUMNS))
    got = read_output(tmp_path / "out", "decisions").sort(keys)
    assert got.height == 48_000 and got.equals(want.sort(keys))


def test_a_failed_assessment_leaves_the_previous_output(spark: SparkSession, tmp_path: Path) -> None:
    """A snapshot whose members lack a column the rules read fails in the tasks: the error names the column,
    the output of the run before is left whole, and no staged part file remains."""
    frames = conform(generate(300, seed=5, on=ON))
    write_snapshot(frames, tmp_path / "good")
    first = assess(spark, snapshot=tmp_path / "good", on=ON, out=tmp_path / "out")
    before = read_output(tmp_path / "out", "decisions").sort("household_id", "program")
    assert first.households == 300 and before.height == 300 * 8
    write_snapshot(Frames(frames.households, frames.members.drop("birth_date")), tmp_path / "bad")

    with pytest.raises(DoudiError) as failed:
        assess(spark, snapshot=tmp_path / "bad", on=ON, out=tmp_path / "out")

    assert "birth_date" in str(failed.value) and "原结果目录未改动" in str(failed.value)
    assert read_output(tmp_path / "out", "decisions").sort("household_id", "program").equals(before)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["decisions", "members", "skipped"]


def test_a_corrupt_snapshot_is_named_before_anything_runs(spark: SparkSession, tmp_path: Path) -> None:
    """A households file that is not Parquet, and a snapshot without its members: a clear error each (the
    reading failure, the missing file under --snapshot), and the previous output untouched."""
    write_snapshot(conform(generate(200, seed=6, on=ON)), tmp_path / "good")
    assess(spark, snapshot=tmp_path / "good", on=ON, out=tmp_path / "out")
    before = read_output(tmp_path / "out", "decisions").sort("household_id", "program")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "households.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "bad" / "members.parquet").write_bytes((tmp_path / "good" / "members.parquet").read_bytes())

    with pytest.raises(DoudiError) as corrupt:
        assess(spark, snapshot=tmp_path / "bad", on=ON, out=tmp_path / "out")
    (tmp_path / "bad" / "members.parquet").unlink()
    with pytest.raises(ValidationFailed) as missing:
        assess(spark, snapshot=tmp_path / "bad", on=ON, out=tmp_path / "out")

    assert str(corrupt.value).startswith("读取快照失败，原结果目录未改动：")
    assert missing.value.errors[0].field == "--snapshot" and "members.parquet" in missing.value.errors[0].message
    assert before.height == 200 * 8
    assert read_output(tmp_path / "out", "decisions").sort("household_id", "program").equals(before)


V, W = "370784001001", "370784002001"  # two villages of 安丘
STD = pl.DataFrame({"county": ["370784"], "urban": [1000.0], "rural": [800.0], "financial_months": [24.0]})
MON = date(2026, 11, 15)


def _member(pid: int, hid: int, name: str, birth: date, area: str = V) -> dict[str, object]:
    return {"person_id": pid, "household_id": hid, "area_code": area, "name": name, "id_number": f"ID{pid}",
            "birth_date": birth, "hukou_type": "rural", "relation": "head"}


QINGZHOU = "370781001001"  # a village of 青州, another county of the same city (潍坊 370700)


def test_monitoring_parity(spark: SparkSession, tmp_path: Path) -> None:
    """The rules on Spark find exactly the single-node warnings of a run above the counties: 张一 (p1, household
    10, 低保) died by the death feed; 赵五 (p5) is a member of households 10 and 20, both enrolled, so 重复;
    household 30 (江门 开平, another county and partition) had 3 temporary grants within 12 months against 安丘's
    limit; household 40 is not enrolled, so its member's death raises nothing. 孙七 (p7, household 50, 低保边缘,
    counted income 6 000 a year): medical expenses 2026-07 100, 2026-08..10 1 000 each, so the last 3 complete
    months (3 000) exceed the 3 before (100); (6 000 − 3 100) / 12 = 241.67 < rural standard 800 → rising_expense.
    周八 (p8) is in enrolled households 60 (安丘) and 70 (青州): one 重复 of the city 370700 naming neither
    household, with one side per county (each its own household), found across the county partitions."""
    members = pl.DataFrame([
        _member(1, 10, "张一", date(1960, 1, 1)), _member(5, 10, "赵五", date(1970, 5, 5)),
        _member(3, 20, "李三", date(1955, 1, 1), W), _member(5, 20, "赵五", date(1970, 5, 5), W),
        _member(6, 30, "陈六", date(1966, 6, 6), "440783001001"), _member(4, 40, "王四", date(1980, 1, 1)),
        _member(7, 50, "孙七", date(1975, 7, 7)), _member(8, 60, "周八", date(1988, 8, 8)),
        _member(8, 70, "周八", date(1988, 8, 8), QINGZHOU)])
    enrolled = [(10, V, "dibao"), (20, W, "dibao"), (30, "440783001001", "dibao"), (50, V, "dibao_marginal"),
                (60, V, "dibao"), (70, QINGZHOU, "dibao")]
    enrollments = pl.DataFrame([
        {"enrollment_id": i + 1, "household_id": hid, "area_code": area, "program": program, "status": "active",
         "start_month": date(2025, 1, 1), "monthly_amount": 500.0, "next_review_on": date(2027, 1, 1)}
        for i, (hid, area, program) in enumerate(enrolled)])
    feed = pl.DataFrame([
        {"batch_id": 7, "row_number": 1, "source_key": "death", "area_code": "370784", "person_id": 1,
         "event_date": date(2026, 11, 2), "code": "cremation"},
        {"batch_id": 7, "row_number": 2, "source_key": "death", "area_code": "370784", "person_id": 4,
         "event_date": date(2026, 11, 3), "code": "death_registration"}])
    grants = pl.DataFrame({"household_id": [30, 30, 30], "granted_on": [date(2026, 2, 1), date(2026, 5, 1),
                                                                        date(2026, 9, 1)], "amount": [500.0] * 3})
    expenses = pl.DataFrame({"household_id": [50] * 4, "kind": ["medical"] * 4,
                             "month": [date(2026, m, 1) for m in (7, 8, 9, 10)],
                             "amount": [100.0, 1000.0, 1000.0, 1000.0]})
    incomes = pl.DataFrame({"household_id": [50], "annual_income": [6000.0]})
    standards = pl.concat([STD, STD.with_columns(county=pl.lit("370781"))])
    inputs = Inputs(members=members, enrollments=enrollments, feed=feed, grants=grants, expenses=expenses,
                    incomes=incomes, standards=standards).conformed()
    write_inputs(inputs, tmp_path / "inputs")

    counts = monitor(spark, directory=tmp_path / "inputs", on=MON, out=tmp_path / "out", area="370784")

    specs, params = rule_specs("370784", MON), load_pack("370784").at(MON)
    found = evaluate(inputs, specs, params, MON)
    grouped, sides = above_counties(group_hits(found, fingerprint=False), found)
    want = grouped.with_columns(fingerprints(grouped)).sort("rule_key", "subject_key")
    got = read_warnings(tmp_path / "out")
    assert got.equals(want.select(got.columns))
    assert read_sides(tmp_path / "out").equals(sides.sort("open_key", "household_id"))
    found_keys = set(zip(got["rule_key"].to_list(), got["subject_key"].to_list(), strict=True))
    assert {("death", "p1"), ("duplicate", "p5"), ("multi_agency", "h30"), ("rising_expense", "h50"),
            ("duplicate", "p8")} <= found_keys  # 3 grants > limit 2
    assert ("death", "p4") not in found_keys
    assert counts["death"] == 1 and counts["rising_expense"] == 1
    assert got.filter(pl.col("rule_key") == "multi_agency")["area_code"].to_list() == ["440783001001"]
    p8 = got.filter(pl.col("open_key") == "duplicate:p8")
    assert p8["area_code"].to_list() == ["370700"] and p8["household_id"].to_list() == [None]
    assert read_sides(tmp_path / "out").select("household_id", "area_code").rows() == [(60, V), (70, QINGZHOU)]

    cli = CliRunner().invoke(app, ["monitor", "run", "--engine", "spark", "--snapshot", str(tmp_path / "inputs"),
                                   "--out", str(tmp_path / "cli"), "--date", MON.isoformat(), "--area", "370784"])
    assert cli.exit_code == 0, cli.output
    assert f"合计 {got.height} 条" in cli.output and read_warnings(tmp_path / "cli").equals(got)
    assert "跨县重复各县一侧 2 条" in cli.output


@pytest.fixture(scope="module")
def small_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`doudi assess --engine spark` on 300 households, results left as Parquet (no database)."""
    tmp = tmp_path_factory.mktemp("cli")
    write_snapshot(conform(generate(300, seed=3, on=ON)), tmp / "snapshot")
    result = CliRunner().invoke(app, ["assess", "--engine", "spark", "--snapshot", str(tmp / "snapshot"),
                                      "--date", ON.isoformat(), "--out", str(tmp / "out"), "--no-store"])
    assert result.exit_code == 0, result.output
    assert "Spark 评估：300 户" in result.output and "8 个分区" in result.output
    return tmp / "out"


def test_a_failed_monitoring_job_names_the_tasks_error(spark: SparkSession, tmp_path: Path) -> None:
    """Members written without their birth dates: the rules fail in the tasks, and the error says which column
    is missing instead of the JVM's stack."""
    members = pl.DataFrame([_member(1, 10, "张一", date(1950, 1, 1)), _member(2, 20, "李二", date(1960, 2, 2), W)])
    write_inputs(Inputs(members=members).conformed(), tmp_path / "inputs")
    pl.read_parquet(tmp_path / "inputs" / "members.parquet").drop("birth_date").write_parquet(
        tmp_path / "inputs" / "members.parquet")

    with pytest.raises(DoudiError) as failed:
        monitor(spark, directory=tmp_path / "inputs", on=MON, out=tmp_path / "out", area="370784")

    assert str(failed.value).startswith("Spark 监测作业失败：") and "birth_date" in str(failed.value)


def test_cli_spark_results_stored(small_run: Path, db: Session) -> None:
    """The Parquet results go through the normal decision store: one run, 300 × 8 = 2 400 decisions."""
    decisions = read_output(small_run, "decisions")
    run = store_assessment(db, actor=system_actor("370784", "test"), on=ON, source="spark", source_detail="test",
                           area_prefix="", long=decisions, members=read_output(small_run, "members"),
                           skipped=read_output(small_run, "skipped"), households=300, persons=0,
                           pack_versions={"370784": "x"})
    stored = db.scalar(select(func.count()).select_from(AssessmentDecision).where(AssessmentDecision.run_id == run.id))
    assert stored == 2_400 and run.source == "spark"
    assert run.summary["dibao"]["households"] == decisions.filter(pl.col("program") == "dibao")["eligible"].sum()


def test_cli_rejects_unknown_engine_and_few_partitions() -> None:
    """Exit 2 with the field named: an unknown engine; fewer than 8 Spark partitions."""
    bad = CliRunner().invoke(app, ["assess", "--engine", "dask", "--date", "2025-06-01"])
    assert bad.exit_code != 0 and "引擎只能是 polars 或 spark" in str(bad.exception or bad.output)
    few = CliRunner().invoke(app, ["assess", "--engine", "spark", "--partitions", "4", "--date", "2025-06-01"])
    assert few.exit_code != 0 and "分区数至少为 8" in str(few.exception or few.output)


def test_cross_county_duplicates(spark: SparkSession, tmp_path: Path) -> None:
    """150 persons registered in 安丘 and 80 in 台山, 15 of them in both (link_pair: 10 % overlap of 150, the
    台山 copies with agency noise): Splink on Spark pairs across the two counties, and never within one."""
    left, right, truth = link_pair(150, overlap=0.1, seed=7)
    persons = pl.concat([left.with_columns(area_code=pl.lit("370784001001")),
                         right.head(80).with_columns(area_code=pl.lit("440781001001"))], how="diagonal_relaxed")
    persons.select("record_id", "name", "id_number", pl.col("birth_date").cast(pl.String), "sex", "address",
                   "area_code").write_parquet(tmp_path / "persons.parquet")
    kept = set(right.head(80)["record_id"].to_list())
    expected = {(lid, rid) for lid, rid in truth if rid in kept}

    result = cross_county_duplicates(spark, persons=tmp_path / "persons.parquet", out=tmp_path / "out")

    pairs = pl.read_parquet(sorted((tmp_path / "out" / "pairs").glob("*.parquet")))
    accepted = {tuple(sorted(p)) for p in pairs.filter(pl.col("accepted")).select("left_id", "right_id").rows()}
    assert (pairs["left_county"] != pairs["right_county"]).all() and result.pairs == pairs.height
    assert len(expected) >= 5 and {tuple(sorted(p)) for p in expected} <= accepted
