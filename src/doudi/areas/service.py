"""Area queries and imports; services take a Session and never commit."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.codes import level_of, parent_of, scope_prefix
from doudi.areas.models import Area
from doudi.core.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class AreaRow:
    """One division to upsert."""

    code: str
    name: str
    synthetic: bool = False
    source: str = "GB/T 2260"


def upsert_areas(session: Session, *, rows: Iterable[AreaRow]) -> int:
    """Insert or update divisions, parents first; returns how many rows changed."""
    ordered = sorted(rows, key=lambda r: (len(r.code), r.code))
    known = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_([r.code for r in ordered])))}
    existing_codes = set(session.scalars(select(Area.code)))
    changed = 0
    for row in ordered:
        parent = parent_of(row.code)
        if parent is not None and parent not in existing_codes:
            parent = None  # the parent is not loaded (e.g. a 省直辖 placeholder); keep the row as a root
        area = known.get(row.code)
        if area is None:
            session.add(
                Area(code=row.code, name=row.name, level=level_of(row.code), parent_code=parent,
                     synthetic=row.synthetic, source=row.source)
            )
            changed += 1
        elif (area.name, area.synthetic, area.parent_code) != (row.name, row.synthetic, parent):
            area.name, area.synthetic, area.parent_code, area.source = row.name, row.synthetic, parent, row.source
            changed += 1
        existing_codes.add(row.code)
    session.flush()
    return changed


def seed_real_areas(session: Session) -> int:
    """Load the real GB/T 2260 codes shipped with the platform (安丘, 江门 and their parents)."""
    text = files("doudi.areas.data").joinpath("seed_areas.csv").read_text(encoding="utf-8")
    return upsert_areas(session, rows=_read_rows(text, default_source="GB/T 2260"))


def parse_division_file(path: Path) -> list[AreaRow]:
    """Read an official division-code file (CSV or XLSX with columns code,name); raise on any bad row."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        # Imported here: openpyxl is loaded only when an Excel file is read or written.
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.active
        assert ws is not None
        lines = [[("" if v is None else str(v)).strip() for v in r] for r in ws.iter_rows(values_only=True)]
        buf = io.StringIO()
        csv.writer(buf).writerows(lines)
        text = buf.getvalue()
    else:
        text = path.read_text(encoding="utf-8-sig")
    return _read_rows(text, default_source=f"import:{path.name}")


def _read_rows(text: str, *, default_source: str) -> list[AreaRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    aliases = {"代码": "code", "区划代码": "code", "行政区划代码": "code", "区划": "code", "行政区划": "code",
               "名称": "name", "单位名称": "name", "区划名称": "name"}
    header = [aliases.get(h, h) for h in header]
    if "code" not in header or "name" not in header:
        shown = "、".join(header)
        raise ValidationFailed([FieldError("header", f"需要“区划代码”和“名称”两列，实际表头为：{shown}", row=1)])
    reader.fieldnames = header
    rows: list[AreaRow] = []
    errors: list[FieldError] = []
    for i, rec in enumerate(reader, start=2):
        code, name = (rec.get("code") or "").strip(), (rec.get("name") or "").strip()
        try:
            level_of(code)
        except ValueError as exc:
            errors.append(FieldError("code", str(exc), row=i))
            continue
        if not name:
            errors.append(FieldError("name", "名称为空", row=i))
            continue
        synthetic = (rec.get("synthetic") or "").strip().lower() in {"1", "true", "yes"}
        rows.append(AreaRow(code, name, synthetic, (rec.get("source") or default_source).strip()))
    if errors:
        raise ValidationFailed(errors)
    return rows


def subtree(session: Session, *, area_code: str, level: str | None = None) -> list[Area]:
    """Every division within an area (the area itself included), optionally of one level."""
    stmt = select(Area).where(Area.code.startswith(scope_prefix(area_code))).order_by(Area.code)
    if level:
        stmt = stmt.where(Area.level == level)
    return list(session.scalars(stmt))


def names(session: Session, *, codes: Iterable[str]) -> dict[str, str]:
    """Map codes to names for display."""
    codes = list(set(codes))
    if not codes:
        return {}
    return {code: name for code, name in session.execute(select(Area.code, Area.name).where(Area.code.in_(codes)))}
