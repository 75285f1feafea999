"""The one Excel writer every export uses: sheets of rows under Chinese headers, streamed with openpyxl's
write-only mode, with formula injection neutralised and sensitive columns masked.

A text cell that a spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return)
is written with a leading apostrophe, so `=HYPERLINK(...)` typed by an applicant or a failed login's user
name stays text in Excel, WPS and LibreOffice, and stays text if the sheet is later saved as CSV (OWASP
"CSV injection"). Numbers, dates and Decimals are written as they are.

    data = to_bytes(Sheet("案件", [Col("案件编号", 22), Col("身份证号", 20, mask="id_number")], rows))

`rows` may be any iterable (a generator over a query streams a large export without holding it in memory);
`write(path, ...)` streams to a file instead of returning bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from doudi.core.masking import mask_health, mask_id, mask_name, mask_phone

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MASKS: dict[str, Callable[[Any], str]] = {
    "id_number": mask_id, "phone": mask_phone, "name": mask_name, "health": mask_health,
    "bank_account": mask_id,  # same shape: keep the first 6 and last 4 characters
}
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)


def safe_text(value: str) -> str:
    """Text a spreadsheet will never evaluate: a formula-leading value gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_LEADS) else value


def cell_value(value: Any) -> Any:
    """A Python value as written to a cell: numbers and dates as they are, everything else as safe text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal | date | datetime):
        return value
    return safe_text(str(value))


@dataclass(frozen=True)
class Col:
    """One column: its Chinese header, width in characters, and how its values are masked (if at all)."""

    header: str
    width: float | None = None
    mask: str | Callable[[Any], str] | None = None  # a key of MASKS, or a function
    number_format: str | None = None  # e.g. "0.00" for yuan

    def masker(self) -> Callable[[Any], Any] | None:
        """The function applied to this column's values before writing."""
        if self.mask is None or callable(self.mask):
            return self.mask
        return MASKS[self.mask]


@dataclass
class Sheet:
    """A sheet: title, columns and rows (each a sequence in column order); `caption` is a bold line above."""

    title: str
    columns: Sequence[Col | str]
    rows: Iterable[Sequence[Any]] = field(default_factory=list)
    caption: str = ""
    freeze_header: bool = True

    def cols(self) -> list[Col]:
        """Columns as Col objects (a plain string is a header with default width)."""
        return [c if isinstance(c, Col) else Col(c) for c in self.columns]


def _fill(ws: WriteOnlyWorksheet, sheet: Sheet) -> int:
    cols = sheet.cols()
    for i, c in enumerate(cols, start=1):
        width = c.width or max(8.0, min(40.0, 2.2 * len(c.header) + 2))
        ws.column_dimensions[get_column_letter(i)].width = width
    header_row = 2 if sheet.caption else 1
    if sheet.freeze_header:  # sheet settings must precede the first row in write-only mode
        ws.freeze_panes = f"A{header_row + 1}"
    if sheet.caption:
        title = WriteOnlyCell(ws, value=safe_text(sheet.caption))
        title.font = _TITLE
        ws.append([title])
    headers = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=safe_text(c.header))
        cell.font = _BOLD
        headers.append(cell)
    ws.append(headers)
    maskers = [c.masker() for c in cols]
    formats = [c.number_format for c in cols]
    written = 0
    for row in sheet.rows:
        out: list[Any] = []
        for i, value in enumerate(row):
            fn = maskers[i] if i < len(maskers) else None
            v = cell_value(fn(value) if fn is not None and value not in (None, "") else value)
            fmt = formats[i] if i < len(formats) else None
            if fmt and isinstance(v, int | float | Decimal):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = fmt
                v = cell
            out.append(v)
        ws.append(out)
        written += 1
    return written


def write(target: str | Path | IO[bytes], *sheets: Sheet) -> int:
    """Stream the sheets into an .xlsx file (or binary file object); returns the number of data rows."""
    if not sheets:
        raise ValueError("an Excel file needs at least one sheet")
    wb = Workbook(write_only=True)
    total = 0
    for sheet in sheets:
        total += _fill(wb.create_sheet(safe_title(sheet.title)), sheet)
    wb.save(target)
    return total


def to_bytes(*sheets: Sheet) -> bytes:
    """The sheets as the bytes of an .xlsx file."""
    buf = io.BytesIO()
    write(buf, *sheets)
    return buf.getvalue()


def safe_title(title: str) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return (cleaned or "Sheet")[:31]
