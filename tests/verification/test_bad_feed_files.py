"""Bad feed input (issue 14 item 10): empty, binary and corrupt files are a clear error naming the file, never a
traceback; a month given as an impossible date and a negative amount are quarantined, not stored."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from doudi.core.errors import ValidationFailed
from doudi.verification.readers import read_chunks
from doudi.verification.sources import load_sources
from doudi.verification.validate import typed_rows


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "文件为空"),
    ("binary.csv", bytes(range(256)) * 20, "不是 UTF-8 或 GB18030 文本"),
    ("broken.parquet", b"PAR1 not really", "Parquet 文件已损坏"),
    ("broken.xlsx", b"PK\x03\x04 not a workbook", "XLSX 文件已损坏"),
])
def test_unreadable_files_are_clear_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationFailed) as err:
        list(read_chunks(path))
    assert err.value.errors[0].field == "file" and message in err.value.errors[0].message


def test_impossible_month_and_negative_amount_are_flagged() -> None:
    tax = load_sources()["tax"]
    names = tax.column_names
    base = {n: None for n in names} | {"income_kind": "wage", "name": "张三", "id_number": "x"}
    rows = [base | {"month": "2026-02-30", "amount": "100"},  # no such day
            base | {"month": "2026-02-28", "amount": "100"},  # a real day: the month is February
            base | {"month": "2026-02", "amount": "-50"},
            base | {"month": "2026-02", "amount": "0"}]
    chunk = pl.DataFrame(rows, schema={n: pl.Utf8 for n in names}).with_row_index("row_number", offset=1)
    typed = typed_rows(chunk.with_columns(pl.col("row_number").cast(pl.Int64)), tax, lenient=False)
    assert typed["_bad_month"].to_list() == [True, False, False, False]
    assert typed["_bad_amount"].to_list() == [False, False, True, False]
