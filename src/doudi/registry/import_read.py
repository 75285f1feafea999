"""Read a household registry file (CSV or XLSX) into a frame of strings, or fail with a clear message.

File-level problems (not CSV/XLSX, undecodable text, a header without the required columns) raise
ImportFileError before anything is written. Row-level problems (a row with more fields than the header)
are kept as rows and reported by validation, so the rest of the file can still be imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from doudi.core.errors import DoudiError
from doudi.core.uploads import MAX_FIELD_CHARS, FileRefused, csv_records, too_long, xlsx_rows

REQUIRED = ["household_no", "area_code", "hukou_type", "relation", "name", "id_number"]
OPTIONAL = [
    "address",
    "has_capable_supporter",
    "sex",
    "birth_date",
    "phone",
    "disability_category",
    "disability_grade",
    "serious_illness",
    "self_care_unable_items",
    "labour_capacity",
    "student",
    "employment",
    "child_status",
    "date_of_death",
    "member_exclusion",
    "lives_with_household",
    "former_registered_poor",
    "schooling_stage",
    "no_civil_capacity",
    "extreme_poverty_supported",
    "dibao_recipient",
    "support_mode",
    "supporters_elsewhere_able",
    "supporters_elsewhere_unable",
    "supporters_elsewhere_unverified",
    "member_since",
]
COLUMNS = REQUIRED + OPTIONAL
HEADER_ALIASES = {
    "户编号": "household_no",
    "家庭编号": "household_no",
    "区划代码": "area_code",
    "所在区划代码": "area_code",
    "区划": "area_code",
    "所在区划": "area_code",
    "行政区划": "area_code",
    "行政区划代码": "area_code",
    "地址": "address",
    "家庭住址": "address",
    "户口类型": "hukou_type",
    "户口性质": "hukou_type",
    "有赡养扶养抚养能力人": "has_capable_supporter",
    "与户主关系": "relation",
    "姓名": "name",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "公民身份号码": "id_number",
    "性别": "sex",
    "出生日期": "birth_date",
    "联系电话": "phone",
    "手机号码": "phone",
    "残疾类别": "disability_category",
    "残疾等级": "disability_grade",
    "重特大疾病": "serious_illness",
    "生活不能自理项数": "self_care_unable_items",
    "劳动能力": "labour_capacity",
    "在校学生": "student",
    "就业状况": "employment",
    "儿童类别": "child_status",
    "死亡日期": "date_of_death",
    "不计入原因": "member_exclusion",
    "共同生活": "lives_with_household",
    "原建档立卡户": "former_registered_poor",
    "就学阶段": "schooling_stage",
    "无民事行为能力": "no_civil_capacity",
    "特困供养人员": "extreme_poverty_supported",
    "低保对象": "dibao_recipient",
    "供养方式": "support_mode",
    "在外有履行能力义务人数": "supporters_elsewhere_able",
    "在外无履行能力义务人数": "supporters_elsewhere_unable",
    "在外待核实义务人数": "supporters_elsewhere_unverified",
    "入户日期": "member_since",
    "成员起始日期": "member_since",
}
ROW = "row_number"  # the line of the file a row came from (the header is line 1)
MAX_ROWS = 1_000_000  # rows one import reads; a larger county's file is split by township
XLSX_MAX_ROWS = 1_048_576  # rows per worksheet in the XLSX format (header included)
EXTRA = "_extra_fields"  # how many fields a row has beyond the header (0 when well formed)


class ImportFileError(DoudiError):
    """The file as a whole cannot be imported (format, encoding or header)."""


@dataclass
class Table:
    """The file's rows as strings, with the columns it had and any header warnings."""

    frame: pl.DataFrame
    columns: list[str]
    warnings: list[str] = field(default_factory=list)
    # Rows that could not be read as cells (a quote never closed, an over-long field, an Excel formula):
    # (row_number, field, reason); the row is in `frame` with empty cells and must be quarantined.
    problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={ROW: pl.Int64, "field": pl.Utf8, "reason": pl.Utf8}))

    def with_problems(self, errors: pl.DataFrame) -> pl.DataFrame:
        """The validation errors with the unreadable rows' own reason in place of whatever their empty cells
        failed, in file order."""
        if self.problems.is_empty():
            return errors
        bad = self.problems[ROW].implode()
        return pl.concat([errors.filter(~pl.col(ROW).is_in(bad)), self.problems.cast(errors.schema)]) \
            .sort(ROW, maintain_order=True)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise ImportFileError(f"{name} 不是文本 CSV 文件（含二进制内容）；请提供 UTF-8 编码的 CSV 或 .xlsx 文件")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{name} 的编码无法识别；请另存为 UTF-8（或 GB18030）编码的 CSV")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps numbers as floats; 15+ digit IDs lose digits and fail the checks
    return str(value)


@dataclass
class _Row:
    """One row of the file: its line (the header is line 1), its cells as text, and why it cannot be read."""

    line: int
    cells: list[str]
    problem: str | None = None


def _xlsx_rows(path: Path) -> list[_Row]:
    try:
        others, rows, close = xlsx_rows(path)
    except FileRefused as exc:
        raise ImportFileError(str(exc)) from None
    try:
        if others:
            raise ImportFileError(f"{path.name} 除第一个工作表外还有 {len(others)} 个有内容的工作表（"
                                  f"{'、'.join(others[:5])}）；只导入第一个工作表：请删除其他工作表，"
                                  "或将其另存为单独的文件分别导入")
        out: list[_Row] = []
        header: list[str] = []
        for number, values, formulas in rows:
            cells = [_cell(v) for v in values]
            if number == 1:
                header = cells
            problem = None
            if formulas:
                names = "、".join(header[i] if i < len(header) and header[i] else f"第 {i + 1} 列" for i in formulas)
                problem = f"字段 {names} 是公式：导入不取公式的计算结果；请将这些单元格“粘贴为数值”后重新导入"
            out.append(_Row(number, cells, problem))
            if len(out) > MAX_ROWS + 1:
                raise ImportFileError(_too_many(path))
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged file
        raise ImportFileError(f"{path.name} 不是有效的 .xlsx 文件：{str(exc)[:200]}") from None
    finally:
        close()
    if len(out) >= XLSX_MAX_ROWS:
        raise ImportFileError(f"{path.name} 的工作表已达 XLSX 格式上限 {XLSX_MAX_ROWS:,} 行（含表头），"
                              "数据可能已被截断；"
                              "更大的文件请改用 CSV 或 Parquet")
    while out and not any(c.strip() for c in out[-1].cells):
        out.pop()
    return out


def _too_many(path: Path) -> str:
    return f"{path.name} 超过单次导入上限 {MAX_ROWS:,} 行；请按乡镇拆分后分批导入"


def _csv_rows(path: Path) -> list[_Row]:
    text = _decode(path.read_bytes(), path.name)
    out: list[_Row] = []
    header: list[str] = []
    for record in csv_records(text):
        if not out:
            header = record.fields
        if record.problem:  # the cells of a record with a quote never closed are not its columns
            out.append(_Row(record.line, [], record.problem))
        else:  # an over-long value is left out; the other cells keep the row with its household
            problem = too_long(header, record.fields)
            cells = [c if len(c) <= MAX_FIELD_CHARS else "" for c in record.fields] if problem else record.fields
            out.append(_Row(record.line, cells, problem))
        if len(out) > MAX_ROWS + 1:
            raise ImportFileError(_too_many(path))
    return out


def _text_rows(path: Path, *, supported: str) -> list[_Row]:
    """The rows of a CSV or XLSX file as text, header first; ImportFileError for a file that cannot be one,
    including a file with a header and no data row."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(f"{path.name} 是旧版 Excel (.xls)；请另存为 .xlsx 或 CSV 后再导入")
    if suffix in {".xlsx", ".xlsm"}:
        rows = _xlsx_rows(path)
    elif suffix in {".csv", ".txt"}:
        if path.read_bytes()[:2] == b"PK":
            raise ImportFileError(f"{path.name} 实际是 Excel 文件；请将扩展名改为 .xlsx")
        rows = _csv_rows(path)
    else:
        raise ImportFileError(f"不支持的文件类型 {suffix or '(无扩展名)'}；请提供 {supported} 文件")
    if not rows or not any(c.strip() for c in rows[0].cells) or rows[0].problem:
        raise ImportFileError(f"{path.name} 为空或缺少表头" + (f"（第 1 行：{rows[0].problem}）"
                                                          if rows and rows[0].problem else ""))
    if not any(r.problem or any(c.strip() for c in r.cells) for r in rows[1:]):
        raise ImportFileError(f"{path.name} 只有表头，没有数据行；请检查是否选错了文件")
    return rows


def _problems(rows: list[_Row]) -> pl.DataFrame:
    return pl.DataFrame([(r.line, "*", r.problem) for r in rows if r.problem],
                        schema={ROW: pl.Int64, "field": pl.Utf8, "reason": pl.Utf8}, orient="row")


def read_table(path: Path) -> Table:
    """Read the file; raise ImportFileError for anything that makes the whole file unusable."""
    if not path.is_file():
        raise ImportFileError(f"找不到文件 {path}")
    rows = _text_rows(path, supported=".csv 或 .xlsx")
    header = [HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in rows[0].cells]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise ImportFileError(f"表头中的列重复：{', '.join(dupes)}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(
            f"表头缺少必需列：{', '.join(missing)}（实际表头：{', '.join(h for h in header if h)}）；"
            f"必需列为 {', '.join(REQUIRED)}"
        )
    unknown = [h for h in header if h and h not in COLUMNS]
    warnings = [f"忽略未知列：{', '.join(unknown)}"] if unknown else []
    width = len(header)
    data: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    extra: list[int] = []
    numbers: list[int] = []
    index = {h: i for i, h in enumerate(header) if h in COLUMNS}
    for item in rows[1:]:
        line, row = item.line, item.cells
        if not item.problem and not any(c.strip() for c in row):
            continue  # blank lines are not rows
        numbers.append(line)
        extra.append(max(0, len(row) - width))
        for col in COLUMNS:
            i = index.get(col)
            value = row[i].strip() if i is not None and i < len(row) else ""
            data[col].append(value or None)
    frame = pl.DataFrame(
        {ROW: numbers, EXTRA: extra, **data}, schema={ROW: pl.Int64, EXTRA: pl.Int64, **dict.fromkeys(COLUMNS, pl.Utf8)}
    )
    return Table(frame=frame, columns=[h for h in header if h in COLUMNS], warnings=warnings,
                 problems=_problems(rows))


def read_columns(path: Path, *, required: list[str], optional: list[str], aliases: dict[str, str]) -> Table:
    """Read a CSV, XLSX or Parquet file into a frame of strings with the given columns (Chinese headers
    through `aliases`); raise ImportFileError when the file as a whole is unusable."""
    if not path.is_file():
        raise ImportFileError(f"找不到文件 {path}")
    columns = required + optional
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            raw = pl.read_parquet(path)
        except Exception as exc:  # polars raises several types for a damaged file
            raise ImportFileError(f"{path.name} 不是有效的 Parquet 文件：{exc}") from None
        header = [aliases.get(h.strip(), h.strip().lower()) for h in raw.columns]
        _check_header(header, required, columns, path.name)
        raw = raw.rename(dict(zip(raw.columns, header, strict=True)))
        # Native types become their text form, so one set of parsing rules serves every format.
        frame = raw.select(
            pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias(ROW),
            *[(pl.col(c).cast(pl.Utf8).str.strip_chars().replace("", None) if c in raw.columns
               else pl.lit(None, pl.Utf8)).alias(c) for c in columns])
        unknown = [h for h in header if h not in columns]
        return Table(frame=frame, columns=[h for h in header if h in columns],
                     warnings=[f"忽略未知列：{', '.join(unknown)}"] if unknown else [])
    plain = _plain_csv(path) if suffix in {".csv", ".txt"} else None
    if plain is not None:
        header = [aliases.get(h.strip(), h.strip().lower()) for h in plain[0]]
        _check_header(header, required, columns, path.name)
        index = {h: i for i, h in enumerate(header) if h in columns}
        cells = pl.col("line").str.split(",")
        frame = plain[1].select(pl.col(ROW), *[
            (cells.list.get(index[c], null_on_oob=True).str.strip_chars().replace("", None) if c in index
             else pl.lit(None, pl.Utf8)).alias(c) for c in columns])
        unknown = [h for h in header if h and h not in columns]
        return Table(frame=frame, columns=[h for h in header if h in columns],
                     warnings=[f"忽略未知列：{', '.join(unknown)}"] if unknown else [])
    rows = _text_rows(path, supported=".csv、.xlsx 或 .parquet")
    header = [aliases.get(h.strip(), h.strip().lower()) for h in rows[0].cells]
    _check_header(header, required, columns, path.name)
    index = {h: i for i, h in enumerate(header) if h in columns}
    data: dict[str, list[str | None]] = {c: [] for c in columns}
    numbers: list[int] = []
    for item in rows[1:]:
        line, row = item.line, item.cells
        if not item.problem and not any(c.strip() for c in row):
            continue
        numbers.append(line)
        for col in columns:
            i = index.get(col)
            value = row[i].strip() if i is not None and i < len(row) else ""
            data[col].append(value or None)
    frame = pl.DataFrame({ROW: numbers, **data}, schema={ROW: pl.Int64, **dict.fromkeys(columns, pl.Utf8)})
    unknown = [h for h in header if h and h not in columns]
    return Table(frame=frame, columns=[h for h in header if h in columns],
                 warnings=[f"忽略未知列：{', '.join(unknown)}"] if unknown else [], problems=_problems(rows))


def _plain_csv(path: Path) -> tuple[list[str], pl.DataFrame] | None:
    """A CSV without a single quote character, split into fields by Polars instead of line by line in Python:
    (the header's fields, a frame of each non-blank data line with its line number). None for anything else (a
    quote, a lone carriage return, a NUL, an over-long line, an empty or header-only file): the general reader
    takes it, with its row-by-row reasons. Without quotes every line is one record and every comma a separator,
    so both readers give the same cells."""
    data = path.read_bytes()
    if data[:2] == b"PK" or b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    text = _decode(data, path.name)
    lines = pl.Series("line", [text]).str.split("\n").explode().str.strip_suffix("\r")
    if text.endswith("\n"):  # the end of the last line, not a line of its own
        lines = lines.head(-1)
    if lines.len() > MAX_ROWS + 1:
        raise ImportFileError(_too_many(path))
    if lines.is_empty() or (lines.str.len_chars().max() or 0) > MAX_FIELD_CHARS:  # type: ignore[operator]
        return None
    header = str(lines[0]).split(",")
    body = (lines.to_frame().with_row_index(ROW, offset=1).cast({ROW: pl.Int64}).slice(1)
            .filter(pl.col("line").str.replace_all(r"[,\s]", "") != ""))
    if not any(h.strip() for h in header) or body.is_empty():
        return None
    return header, body


def _check_header(header: list[str], required: list[str], columns: list[str], name: str) -> None:
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise ImportFileError(f"{name} 表头中的列重复：{', '.join(dupes)}")
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(f"{name} 表头缺少必需列：{', '.join(missing)}"
                              f"（实际表头：{', '.join(h for h in header if h)}）；"
                              f"可用列为 {', '.join(columns)}")
