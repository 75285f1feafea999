"""The part files an assessment writes (a Spark task or a chunk), and how they are put in place (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from doudi.scale.assess import task_error
from doudi.scale.layout import DECISION_COLUMNS, SKIPPED_COLUMNS, publish, read_output, write_part


def _decisions(*ids: int) -> pl.DataFrame:
    rows: dict[str, list[object]] = {n: [None] * len(ids) for n in DECISION_COLUMNS}
    rows["household_id"], rows["program"] = list(ids), ["dibao"] * len(ids)
    return pl.DataFrame(rows, schema=DECISION_COLUMNS)


def test_a_retried_task_rewrites_its_own_part_file(tmp_path: Path) -> None:
    """Partition 3 written by attempt 0 and again by attempt 1: one file, the second attempt's rows; an empty
    output is not written and no hidden file is left behind."""
    empty = pl.DataFrame(schema=SKIPPED_COLUMNS)
    write_part({"decisions": _decisions(1, 2), "skipped": empty}, tmp_path, 3, 0)
    write_part({"decisions": _decisions(1, 2, 5), "skipped": empty}, tmp_path, 3, 1)

    assert sorted(p.name for p in tmp_path.rglob("*")) == ["decisions", "part-00003.parquet"]
    assert pl.read_parquet(tmp_path / "decisions" / "part-00003.parquet")["household_id"].to_list() == [1, 2, 5]


def test_publish_replaces_each_output_whole(tmp_path: Path) -> None:
    """The previous run's decisions (parts 0 and 1) and skipped households give way to the new run's one part;
    the new run skipped nobody, so its skipped folder is empty; nothing set aside is left."""
    out, staging = tmp_path / "out", tmp_path / "out" / "_staging-x"
    write_part({"decisions": _decisions(7), "skipped": pl.DataFrame(
        {"household_id": [9], "area_code": ["110101001001"], "reason": ["无参数包"]}, schema=SKIPPED_COLUMNS)},
        out, 0, 0)
    write_part({"decisions": _decisions(8)}, out, 1, 0)
    write_part({"decisions": _decisions(1, 2)}, staging, 0, 0)

    publish(staging, out)

    assert read_output(out, "decisions")["household_id"].to_list() == [1, 2]
    assert read_output(out, "skipped").height == 0 and read_output(out, "members").height == 0
    assert sorted(p.name for p in out.iterdir()) == ["_staging-x", "decisions", "members", "skipped"]
    assert list(staging.iterdir()) == []


def test_task_error_is_the_workers_exception() -> None:
    """From a failed job's message: the worker's own exception line, not the JVM's frames around it."""
    message = ("[PYTHON_EXCEPTION] An exception was thrown from the Python worker: Traceback (most recent call last):\n"
               '  File "x.py", line 1, in run\n'
               'polars.exceptions.ColumnNotFoundError: unable to find column "birth_date"\n'
               "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException\n"
               "java.lang.RuntimeException: wrapped\n")
    want = 'polars.exceptions.ColumnNotFoundError: unable to find column "birth_date"'
    assert task_error(RuntimeError(message)) == want
    assert task_error(RuntimeError("Job aborted\nmore")) == "Job aborted"
