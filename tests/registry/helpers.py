"""Builders for registry import files used by the import tests."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from doudi.core.ids import build_id_number

HEADER = [
    "household_no",
    "area_code",
    "address",
    "hukou_type",
    "relation",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
]
VILLAGE = "370784001001"  # created by tests.factories.make_areas


def pid(birth: date, seq: int, sex: str) -> str:
    """A valid ID number of 安丘 (370784) for the birth date, sequence and sex."""
    return build_id_number("370784", birth, seq, sex)


def row(hh: str, relation: str, name: str, birth: date, sex: str, seq: int, **over: str) -> dict[str, str]:
    """One person row of household `hh` with a valid ID; keyword overrides replace any column."""
    base = {
        "household_no": hh,
        "area_code": VILLAGE,
        "address": "新安街道东村社区1号",
        "hukou_type": "urban",
        "relation": relation,
        "name": name,
        "id_number": pid(birth, seq, sex),
        "sex": sex,
        "birth_date": birth.isoformat(),
        "phone": "",
    }
    base.update(over)
    return base


def family(hh: str = "H001", seq0: int = 10) -> list[dict[str, str]]:
    """A couple with a son: 王建国 (1970), 李秀英 (1972), 王小明 (2000)."""
    return [
        row(hh, "head", "王建国", date(1970, 5, 1), "M", seq0 + 1),
        row(hh, "spouse", "李秀英", date(1972, 3, 8), "F", seq0 + 2),
        row(hh, "child", "王小明", date(2000, 9, 1), "M", seq0 + 3),
    ]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    """Write rows as a CSV file with the given header (default HEADER)."""
    header = header or HEADER
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.get(c, "") for c in header])
    return path
