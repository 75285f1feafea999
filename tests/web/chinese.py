"""What a person reads on a page, a workbook or a PDF, and the ASCII words in it that are not allowed.

A user of the console reads Chinese. Letters may appear only in identifiers and units (ID numbers, case
numbers, 元/m²), in names of file formats and standards, and in the product's name. Every other word of
two or more ASCII letters on a page (an internal key such as `toilet`, `auth.login`, `approve`, a Python
dict, an English validation message) is a defect.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

# Words a Chinese user is expected to read as they are: formats, standards, units and the product name.
ALLOWED = frozenset({
    "doudi",  # the product's name beside 兜底
    "Excel", "PDF", "XLSX", "xlsx", "CSV", "csv", "Parquet", "parquet", "JSON", "ZIP", "PNG", "JPG", "JPEG",
    "ISO", "GB", "GBT", "API", "ID", "IP", "OK", "Swagger",
    "kg", "km", "kWh", "m", "KB", "MB",  # units
    "pain",  # ISO 20022 message names (pain.001) appear in bank file names
    "YYYY", "MM", "DD",  # the date format a field asks for (应为 YYYY-MM-DD 日期)
})

VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "source"}
# Attributes whose text a person reads.
READ_ATTRS = ("title", "placeholder", "alt", "aria-label")
# A run of letters, digits and joiners; runs with a digit are identifiers (case numbers, codes, dates).
RUN = re.compile(r"[A-Za-z0-9_.\-/:#@]+")
WORD = re.compile(r"[A-Za-z]{2,}")
FILE_NAME = re.compile(r"[\w.\-]+\.(csv|xlsx|parquet|pdf|jsonl|ndjson|json|xml|zip|tar\.gz)", re.IGNORECASE)


class _Text(HTMLParser):
    """Visible text, read attributes and chart labels of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._ident: list[list[Any]] = []  # [tag, depth] of the identifier element being skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self._skip += 1
        values = dict(attrs)
        # class="ident": identifiers a person must type as they are (a parameter key and its raw value in a
        # policy pack, a feed file's column names), always shown beside their Chinese names.
        if self._ident and tag == self._ident[-1][0]:
            self._ident[-1][1] += 1
        elif "ident" in str(values.get("class") or "").split() and tag not in VOID:
            self._ident.append([tag, 1])
            self._skip += 1
        for name in READ_ATTRS:
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.parts.append(str(values["value"]))
        if values.get("data-echarts"):
            self.parts.extend(chart_strings(json.loads(str(values["data-echarts"]))))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"} and self._skip:
            self._skip -= 1
        elif self._ident and tag == self._ident[-1][0]:
            self._ident[-1][1] -= 1
            if self._ident[-1][1] == 0:
                self._ident.pop()
                self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def chart_strings(option: Any) -> Iterator[str]:
    """The labels an ECharts option shows: titles, legends, axis categories, series and data names."""
    if isinstance(option, dict):
        for key, value in option.items():
            if key in {"text", "name", "subtext"} and isinstance(value, str):
                yield value
            elif key == "data" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
                yield from chart_strings([v for v in value if not isinstance(v, str)])
            elif isinstance(value, dict | list):
                yield from chart_strings(value)
    elif isinstance(option, list):
        for item in option:
            yield from chart_strings(item)


def html_text(html: str) -> str:
    """What a person reads on the page."""
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def xlsx_text(data: bytes) -> str:
    """Every cell of every sheet, and the sheet names; a column headed “…代码” holds codes and is skipped."""
    from openpyxl import load_workbook  # only the workbook checks need it

    wb = load_workbook(io.BytesIO(data), read_only=True)
    out = []
    for ws in wb.worksheets:
        out.append(ws.title)
        codes: set[int] = set()
        for row in ws.iter_rows(values_only=True):
            if any(isinstance(v, str) and v.endswith("代码") for v in row) and not codes:
                codes = {i for i, v in enumerate(row) if isinstance(v, str) and v.endswith("代码")}
            out.extend(str(v) for i, v in enumerate(row) if isinstance(v, str) and i not in codes)
    return " ".join(out)


def english_words(text: str, identifiers: frozenset[str] = frozenset()) -> set[str]:
    """ASCII words of two or more letters outside identifiers that are not on the allow-list. `identifiers` are
    names the installation chose (user names, organisation keys): they are shown as they are."""
    bad = set()
    for run in RUN.findall(text):
        if (any(ch.isdigit() for ch in run) or run.strip(".:/-") in identifiers or run.startswith("/")
                or FILE_NAME.fullmatch(run.strip(".:;,"))):
            continue  # an identifier: number, code, date, amount, user name, page address, a file's name
        for word in WORD.findall(run):
            if word not in ALLOWED:
                bad.add(word)
    return bad
