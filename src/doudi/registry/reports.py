"""The quarantine report of an import as an Excel workbook (core/excel.py): row, field, reason and the row's keys."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from doudi.core.excel import Col, Sheet, write

LABELS = {"row_number": "行号", "field": "字段", "reason": "原因", "household_no": "户编号", "name": "姓名",
          "id_number": "身份证号", "kind": "类别", "program": "项目"}


def rejects_sheet(rejects: pl.DataFrame, title: str = "被隔离的行") -> Sheet:
    """The rejected rows under Chinese headers (ID numbers masked: the report travels by e-mail)."""
    cols = [Col(LABELS.get(c, c), 40 if c == "reason" else 18, mask="id_number" if c == "id_number" else None)
            for c in rejects.columns]
    return Sheet(title, cols, rejects.iter_rows(), caption="导入时未通过校验的行；改正后可重新导入整个文件")


def write_rejects(rejects: pl.DataFrame, source: Path) -> Path | None:
    """Write `<file>.rejects.xlsx` next to the imported file (None when nothing was rejected)."""
    if rejects.is_empty():
        return None
    target = source.with_name(f"{source.stem}.rejects.xlsx")
    write(target, rejects_sheet(rejects))
    return target
