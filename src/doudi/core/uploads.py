"""Reading uploaded files with a hard size cap, without holding an oversized upload in memory first, and reading
CSV and XLSX defensively: broken quoting, over-long fields, formulas, extra sheets and compression bombs."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from doudi.core.errors import DoudiError, FieldError, ValidationFailed

CHUNK = 1024 * 1024
MAX_UPLOAD = 50 * CHUNK  # what one upload through the console or API may weigh; larger feeds go through the CLI


class Readable(Protocol):
    """What an uploaded file offers (Starlette's UploadFile)."""

    async def read(self, size: int = -1) -> bytes: ...


async def read_capped(upload: Readable, *, max_bytes: int, field: str = "file") -> bytes:
    """The upload's bytes, or ValidationFailed as soon as it passes `max_bytes`."""
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise ValidationFailed([FieldError(field, f"文件超过 {max_bytes // CHUNK} MB 上限")])
        parts.append(chunk)
    return b"".join(parts)


class _Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def copy_capped(source: _Source, target: _Sink, *, max_bytes: int, field: str = "file") -> int:
    """Copy a file object (a spooled upload) into another under a hard cap; ValidationFailed past it."""
    total = 0
    while chunk := source.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise ValidationFailed([FieldError(field, f"文件超过 {max_bytes // CHUNK} MB 上限")])
        target.write(chunk)
    return total


# --- Reading tabular files defensively -------------------------------------------------------------------------

MAX_FIELD_CHARS = 32_767  # what one Excel cell holds; a longer value is a broken row, not data
XLSX_MAX_UNCOMPRESSED = 512 * CHUNK  # what an XLSX may expand to, all parts together
XLSX_MAX_RATIO = 100  # expansion of a large XLSX part beyond this is a compression bomb, not a spreadsheet
XLSX_RATIO_FLOOR = 8 * CHUNK  # parts smaller than this expand as they like (tiny files compress well)
# The csv module's own limit (131,072 characters) would reject the whole file at the first long field; the
# limit is raised so that the row is read, and then refused by MAX_FIELD_CHARS with its row and field.
csv.field_size_limit(64 * CHUNK)


class FileRefused(DoudiError):
    """The file as a whole cannot be read (format, size, compression, encoding)."""


def check_xlsx(path: Path, *, max_uncompressed: int = XLSX_MAX_UNCOMPRESSED, max_ratio: int = XLSX_MAX_RATIO) -> None:
    """Refuse an XLSX whose parts would expand past `max_uncompressed`, or a large part compressed more than
    `max_ratio` times (a zip bomb), before any XML is parsed. Sizes come from the archive's directory, and
    the parser never reads more than they declare (zipfile checks the lengths as it inflates)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRefused(f"{path.name} 不是有效的 .xlsx 文件：XLSX 文件已损坏（{type(exc).__name__}）") from None
    total = sum(i.file_size for i in infos)
    if total > max_uncompressed:
        raise FileRefused(f"{path.name} 解压后共 {total / CHUNK:,.0f} MB，超过 {max_uncompressed // CHUNK} MB 上限；"
                          "请拆分文件，或改用 CSV")
    for info in infos:
        if info.file_size > XLSX_RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise FileRefused(f"{path.name} 的部件 {info.filename} 压缩比 {ratio:,.0f} 倍，超过 {max_ratio} 倍上限"
                              "（疑似压缩炸弹），已拒绝")


def too_long(header: Sequence[str], values: Sequence[str | None], limit: int = MAX_FIELD_CHARS) -> str | None:
    """The message for the first value longer than `limit` characters, naming its column; None when none is."""
    for name, value in zip(header, values, strict=False):
        if value is not None and len(value) > limit:
            return f"字段 {name} 长 {len(value):,} 字符，超过 {limit:,} 字符上限"
    return None


def _swallows_rows(inner: list[str], width: int) -> bool:
    """Whether lines inside one quoted field are whole rows themselves (two stray quotes that enclose the rows
    between them), rather than the lines of an address or a note."""
    return width > 1 and any(len(next(csv.reader([line]), [])) == width for line in inner)


@dataclass
class Record:
    """One CSV record: the physical line it starts on (the header is line 1), its fields, and why it is broken
    (None for a good record)."""

    line: int
    fields: list[str]
    problem: str | None = None


def csv_records(text: str, *, width: int | None = None) -> Iterator[Record]:
    """The records of CSV text, header first, each with its starting line. A quote that is never closed
    would swallow every following line into one field; such a record (one that reaches the end of the file
    inside quotes, or spans several lines and then has the wrong number of fields) is returned as broken,
    and reading starts again on the line after it, so no row vanishes unreported. `width` is the header's
    field count (taken from the first record when None)."""
    lines = io.StringIO(text, newline="").readlines()  # physical lines as the csv module sees them
    start = 0  # index in `lines` where the current reader began
    while start < len(lines):
        taken = [0]  # lines handed to the current reader

        def feed(begin: int = start, taken: list[int] = taken) -> Iterator[str]:
            for i in range(begin, len(lines)):
                taken[0] += 1
                yield lines[i]

        reader = csv.reader(feed(), strict=True)
        restart: int | None = None
        while restart is None:
            before = taken[0]
            first = start + before  # index of the record's first line
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                span = taken[0] - before
                reason = "引号未闭合，本行起的内容无法分列" if "end of data" in str(exc) or span > 1 \
                    else f"CSV 格式错误：{exc}"
                yield Record(first + 1, [lines[first].rstrip("\r\n")[:500]], reason)
                restart = first + 1
                continue
            span = taken[0] - before
            if width is None:
                width = len(fields)
            if span > 1 and (len(fields) != width or _swallows_rows(lines[first + 1:first + span - 1], width)):
                yield Record(first + 1, [lines[first].rstrip("\r\n")[:500]],
                             f"引号未闭合：本行与其后 {span - 1} 行被读成一条记录；已隔离本行，从下一行继续读取")
                restart = first + 1
                continue
            yield Record(first + 1, fields)
        start = restart


def xlsx_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[object], list[int]]], Callable[[], None]]:
    """Open an XLSX after the zip-bomb check: the names of the non-empty sheets after the first, an iterator
    of the first sheet's rows (row number, values, indexes of cells holding a formula), and a close function.
    A formula's cached result is never taken as a value (it may be stale, or absent when the file was written
    by a program); the caller reports those cells."""
    check_xlsx(path)
    # Imported here: openpyxl is loaded only when an Excel file is read or written.
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged file
        raise FileRefused(f"{path.name} 不是有效的 .xlsx 文件：{str(exc)[:200]}") from None
    if not wb.worksheets:
        wb.close()
        raise FileRefused(f"{path.name} 没有工作表")
    others = [ws.title for ws in wb.worksheets[1:]
              if any(v is not None for row in ws.iter_rows(max_row=50, values_only=True) for v in row)]

    def rows() -> Iterator[tuple[int, list[object], list[int]]]:
        # A read-only sheet yields every row from the first, empty ones included: the count is the row number.
        for number, row in enumerate(wb.worksheets[0].iter_rows(), start=1):
            values: list[object] = []
            formulas: list[int] = []
            for i, cell in enumerate(row):
                if getattr(cell, "data_type", None) == "f":
                    formulas.append(i)
                    values.append(None)
                else:
                    values.append(cell.value)
            yield number, values, formulas

    return others, rows(), wb.close
