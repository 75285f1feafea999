"""Read feed files (CSV, XLSX, JSONL, Parquet) as chunks of text columns with 1-based row numbers.

`row_number` is the position of the data row after the header, from 1: a CSV record (which may span
lines inside quotes), a spreadsheet row, a JSONL object or a Parquet row. Blank CSV lines and blank
spreadsheet rows count (a blank CSV line is quarantined, a blank spreadsheet row skipped); blank JSONL
lines do not. Quarantined rows, feed records and the synthetic county's `record_id`/noise.csv all use it.

The fast paths are Polars' native readers. A CSV or JSONL file that a native reader refuses (ragged rows,
broken quoting, a bad JSON line) is read again by the standard library so that only the broken rows are
quarantined, each with its row number, instead of refusing the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from doudi.core.errors import FieldError, ValidationFailed

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass
class Chunk:
    """Rows as text columns plus `row_number`, and rows that could not even be split into columns."""

    frame: pl.DataFrame
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # (row_number, reason, raw text)


def detect_format(path: Path) -> str:
    """The feed format from the file extension."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationFailed([FieldError("file", f"不支持的文件类型 {path.suffix}；支持 CSV、XLSX、JSONL、Parquet")])
    return fmt


def _utf8_source(path: Path) -> Path | bytes:
    """The file itself when it is UTF-8; agency exports in GB18030/GBK are transcoded in memory."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
        return path
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sample boundary
            return path
    return path.read_bytes().decode("gb18030").encode("utf-8")


def read_chunks(path: Path, *, chunk_rows: int = 200_000) -> Iterator[Chunk]:
    """Yield the file's rows in order, as chunks of at most `chunk_rows`; an unreadable file is a clear error."""
    fmt = detect_format(path)
    if path.stat().st_size == 0:
        raise ValidationFailed([FieldError("file", "文件为空：没有表头，也没有数据行")])
    try:
        yield from _read(path, fmt, chunk_rows)
    except pl.exceptions.NoDataError:
        raise ValidationFailed([FieldError("file", "文件为空：没有表头，也没有数据行")]) from None
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError("file", "文件不是 UTF-8 或 GB18030 文本（可能是二进制文件或其他编码）")]) \
            from None
    except (pl.exceptions.PolarsError, OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        if isinstance(exc, ValidationFailed):
            raise
        label = {"parquet": "Parquet", "xlsx": "XLSX", "jsonl": "JSONL", "csv": "CSV"}[fmt]
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ValidationFailed([FieldError("file", f"{label} 文件已损坏或格式不符，无法读取：{detail}")]) from None


def _read(path: Path, fmt: str, chunk_rows: int) -> Iterator[Chunk]:
    if fmt == "csv":
        yield from _csv_chunks(path, chunk_rows)
    elif fmt == "jsonl":
        yield from _jsonl_chunks(path, chunk_rows)
    elif fmt == "parquet":
        lf = pl.scan_parquet(path)
        lf = lf.select(pl.all().cast(pl.Utf8)).with_row_index("row_number", offset=1)
        for batch in lf.collect_batches(chunk_size=chunk_rows):
            yield Chunk(batch.with_columns(pl.col("row_number").cast(pl.Int64)))
    else:
        yield from _xlsx_chunks(path, chunk_rows)


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    source = _utf8_source(path)
    done = 0  # rows already handed out when Polars hits a broken row: the slow path resumes after them
    try:
        lf = pl.scan_csv(source, infer_schema=False, row_index_name="row_number", row_index_offset=1) \
            if isinstance(source, Path) else \
            pl.read_csv(source, infer_schema=False, row_index_name="row_number", row_index_offset=1).lazy()
        for batch in lf.collect_batches(chunk_size=chunk_rows):
            yield Chunk(batch.with_columns(pl.col("row_number").cast(pl.Int64)))
            done = int(batch["row_number"].cast(pl.Int64).max() or done) if batch.height else done  # type: ignore[arg-type]
    except pl.exceptions.ComputeError:
        yield from _csv_chunks_slow(source, chunk_rows, skip=done)


def _csv_chunks_slow(source: Path | bytes, chunk_rows: int, *, skip: int = 0) -> Iterator[Chunk]:
    try:
        text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # UTF-8 at the start, something else further on: refuse the file
        message = f"文件编码不一致：第 {exc.start:,} 字节起不是 UTF-8 文本"
        raise ValidationFailed([FieldError("file", message)]) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    broken: list[tuple[int, str, str]] = []
    for n, row in enumerate(reader, start=1):
        if n <= skip:
            continue
        if len(row) != len(header):
            broken.append((n, f"列数不符：表头 {len(header)} 列，本行 {len(row)} 列", ",".join(row)[:500]))
        else:
            rows.append([v if v != "" else None for v in row])
            numbers.append(n)
        if len(rows) + len(broken) >= chunk_rows:
            yield Chunk(_frame(header, rows, numbers), broken)
            rows, numbers, broken = [], [], []
    yield Chunk(_frame(header, rows, numbers), broken)


def _frame(header: list[str], rows: list[list[str | None]], numbers: list[int]) -> pl.DataFrame:
    cols = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    frame = pl.DataFrame(cols, schema={h: pl.Utf8 for h in header})
    return frame.with_columns(pl.Series("row_number", numbers, dtype=pl.Int64)).select("row_number", *header)


def _jsonl_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    try:
        lf = pl.scan_ndjson(path, infer_schema_length=None)
        lf = lf.select(pl.all().cast(pl.Utf8)).with_row_index("row_number", offset=1)
        for batch in lf.collect_batches(chunk_size=chunk_rows):
            yield Chunk(batch.with_columns(pl.col("row_number").cast(pl.Int64)))
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        yield from _jsonl_chunks_slow(path, chunk_rows)


def _jsonl_chunks_slow(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    records: list[dict[str, str | None]] = []
    numbers: list[int] = []
    broken: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8-sig") as fh:
        n = 0
        for line in fh:
            if not line.strip():
                continue
            n += 1
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
                records.append({k: None if v is None else str(v) for k, v in obj.items()})
                numbers.append(n)
            except ValueError:
                broken.append((n, "不是有效的 JSON 对象", line.strip()[:500]))
            if len(records) + len(broken) >= chunk_rows:
                yield _records_chunk(records, numbers, broken)
                records, numbers, broken = [], [], []
    yield _records_chunk(records, numbers, broken)


def _records_chunk(records: list[dict[str, str | None]], numbers: list[int],
                   broken: list[tuple[int, str, str]]) -> Chunk:
    keys = list(dict.fromkeys(k for r in records for k in r))
    frame = pl.DataFrame([{k: r.get(k) for k in keys} for r in records], schema={k: pl.Utf8 for k in keys})
    return Chunk(frame.with_columns(pl.Series("row_number", numbers, dtype=pl.Int64)), broken)


def _xlsx_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """Cells converted to text the way a clerk reads them: whole numbers without '.0', dates as ISO."""

    # Imported here: openpyxl is loaded only when an Excel file is read or written.
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows_iter = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else f"column_{i}" for i, h in enumerate(next(rows_iter, ()))]

    def cell(v: object) -> str | None:
        if v is None or v == "":
            return None
        if isinstance(v, datetime):
            return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat(sep=" ")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    rows: list[list[str | None]] = []
    numbers: list[int] = []
    for n, row in enumerate(rows_iter, start=1):
        if all(v is None for v in row):
            continue
        values = [cell(v) for v in row][: len(header)]
        rows.append(values + [None] * (len(header) - len(values)))
        numbers.append(n)
        if len(rows) >= chunk_rows:
            yield Chunk(_frame(header, rows, numbers))
            rows, numbers = [], []
    wb.close()
    yield Chunk(_frame(header, rows, numbers))
