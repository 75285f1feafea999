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

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.uploads import MAX_FIELD_CHARS, FileRefused, csv_records, too_long, xlsx_rows

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


def declared_rows(path: Path) -> int | None:
    """The row count a Parquet file declares in its footer (read without the data); None for other formats or
    a file that cannot say (reading it then gives the real error)."""
    if detect_format(path) != "parquet":
        return None
    try:
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError):
        return None


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
            yield _capped(Chunk(batch.with_columns(pl.col("row_number").cast(pl.Int64))))
    else:
        yield from _xlsx_chunks(path, chunk_rows)


class _Multiline(Exception):
    """A value spans lines: the fast reader cannot tell a quoted note from a quote that was never closed."""


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    source = _utf8_source(path)
    done = 0  # rows already handed out when Polars hits a broken row: the slow path resumes after them
    try:
        lf = pl.scan_csv(source, infer_schema=False, row_index_name="row_number", row_index_offset=1) \
            if isinstance(source, Path) else \
            pl.read_csv(source, infer_schema=False, row_index_name="row_number", row_index_offset=1).lazy()
        for batch in lf.collect_batches(chunk_size=chunk_rows):
            values = [c for c in batch.columns if c != "row_number"]
            if values and batch.select(pl.any_horizontal(pl.col(values).str.contains("[\r\n]")).any()).item():
                raise _Multiline
            yield _capped(Chunk(batch.with_columns(pl.col("row_number").cast(pl.Int64))))
            done = int(batch["row_number"].cast(pl.Int64).max() or done) if batch.height else done  # type: ignore[arg-type]
    except (pl.exceptions.ComputeError, _Multiline):
        yield from _csv_chunks_slow(source, chunk_rows, skip=done)


def _csv_chunks_slow(source: Path | bytes, chunk_rows: int, *, skip: int = 0) -> Iterator[Chunk]:
    try:
        text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # UTF-8 at the start, something else further on: refuse the file
        message = f"文件编码不一致：第 {exc.start:,} 字节起不是 UTF-8 文本"
        raise ValidationFailed([FieldError("file", message)]) from None
    records = csv_records(text)
    head = next(records, None)
    header = head.fields if head is not None and head.problem is None else []
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    broken: list[tuple[int, str, str]] = []
    for n, record in enumerate(records, start=1):
        if n <= skip:
            continue
        row = record.fields
        if record.problem:
            broken.append((n, f"第 {record.line} 行：{record.problem}", row[0] if row else ""))
        elif len(row) != len(header):
            broken.append((n, f"列数不符：表头 {len(header)} 列，本行 {len(row)} 列", ",".join(row)[:500]))
        elif (long := too_long(header, row)) is not None:
            broken.append((n, long, ",".join(v[:100] for v in row)[:500]))
        else:
            rows.append([v if v != "" else None for v in row])
            numbers.append(n)
        if len(rows) + len(broken) >= chunk_rows:
            yield _capped(Chunk(_frame(header, rows, numbers), broken))
            rows, numbers, broken = [], [], []
    yield _capped(Chunk(_frame(header, rows, numbers), broken))


def _capped(chunk: Chunk) -> Chunk:
    """The chunk with rows holding an over-long value moved to the broken rows, each naming its column."""
    frame = chunk.frame
    values = [c for c in frame.columns if c != "row_number" and frame.schema[c] == pl.Utf8]
    if not values or frame.is_empty():
        return chunk
    lengths = frame.select("row_number", *[pl.col(c).str.len_chars().fill_null(0) for c in values])
    over = lengths.filter(pl.any_horizontal(pl.col(values) > MAX_FIELD_CHARS))
    if over.is_empty():
        return chunk
    broken = list(chunk.broken)
    for row in over.iter_rows(named=True):
        name = next(c for c in values if row[c] > MAX_FIELD_CHARS)
        reason = f"字段 {name} 长 {row[name]:,} 字符，超过 {MAX_FIELD_CHARS:,} 字符上限"
        broken.append((int(row["row_number"]), reason, ""))
    return Chunk(frame.filter(~pl.col("row_number").is_in(over["row_number"].implode())), broken)


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
    """Cells converted to text the way a clerk reads them: whole numbers without '.0', dates as ISO. A row
    with a formula is quarantined naming the column (the formula's cached result is never taken as data);
    a workbook with data on a second sheet, or that expands like a compression bomb, is refused."""
    try:
        others, rows_iter, close = xlsx_rows(path)
    except FileRefused as exc:
        raise ValidationFailed([FieldError("file", str(exc))]) from None
    try:
        if others:
            raise ValidationFailed([FieldError("file", f"除第一个工作表外还有 {len(others)} 个有内容的工作表（"
                                                       f"{'、'.join(others[:5])}）；只读取第一个工作表：请删除其他"
                                                       "工作表，或另存为单独的文件分别导入")])
        first = next(rows_iter, None)
        header = [str(h).strip() if h is not None else f"column_{i}"
                  for i, h in enumerate(first[1] if first else ())]

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
        broken: list[tuple[int, str, str]] = []
        for n, (_line, row, formulas) in enumerate(rows_iter, start=1):
            if not formulas and all(v is None for v in row):
                continue
            values = [cell(v) for v in row][: len(header)]
            if formulas:
                names = "、".join(header[i] if i < len(header) else f"第 {i + 1} 列" for i in formulas)
                broken.append((n, f"字段 {names} 是公式：不取公式的计算结果；请“粘贴为数值”后重新提供",
                               ",".join(v or "" for v in values)[:500]))
            else:
                rows.append(values + [None] * (len(header) - len(values)))
                numbers.append(n)
            if len(rows) + len(broken) >= chunk_rows:
                yield _capped(Chunk(_frame(header, rows, numbers), broken))
                rows, numbers, broken = [], [], []
        yield _capped(Chunk(_frame(header, rows, numbers), broken))
    finally:
        close()
