"""A CSV without quotes is split by Polars; it must give exactly the cells, line numbers and warnings the general
reader gives, and anything else (a quote, a lone carriage return) still goes through the general reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from doudi.registry import import_read
from doudi.registry.facts_import import ALIASES, FACT_COLUMNS
from doudi.registry.import_read import ImportFileError, read_columns

REQUIRED, OPTIONAL = FACT_COLUMNS["income"]
# Chinese headers, an unknown column, a blank line, cells with spaces, a short row, a row with an extra field,
# a line of commas only, Windows line ends.
TEXT = ("户编号,身份证号,类别,月份,金额,备用\r\n"
        "H1, 110101199001011234 ,wage,2026-09,2500,x\r\n"
        "\r\n"
        "H1,110101199001011234,transfer,2026-09\r\n"
        "H2,,wage, 2026/10 ,-5,y,extra\r\n"
        ",,,,\r\n"
        "H3,11010119900101123X,工资性收入,2026-10,1 000,\r\n")


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[import_read.Table, import_read.Table]:
    fast = read_columns(path, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
    with monkeypatch.context() as m:
        m.setattr(import_read, "_plain_csv", lambda _path: None)
        slow = read_columns(path, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
    return fast, slow


def test_plain_csv_reads_as_the_general_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "income.csv"
    path.write_bytes(TEXT.encode("utf-8-sig"))
    assert import_read._plain_csv(path) is not None  # this file takes the fast path
    fast, slow = _both(path, monkeypatch)
    assert fast.frame.equals(slow.frame) and fast.columns == slow.columns and fast.warnings == slow.warnings
    # Lines 2, 4, 5 and 7 are rows (the header is line 1; lines 3 and 6 are blank).
    assert fast.frame[import_read.ROW].to_list() == [2, 4, 5, 7]
    assert fast.frame.row(0, named=True) == {
        import_read.ROW: 2, "household_no": "H1", "kind": "wage", "amount": "2500", "id_number": "110101199001011234",
        "month": "2026-09", "period_start": None, "period_end": None, "source": None, "investigator": None,
        "investigated_on": None, "note": None}
    assert fast.frame["amount"].to_list() == ["2500", None, "-5", "1 000"]
    assert fast.warnings == ["忽略未知列：备用"]


def test_quotes_and_gb18030_take_the_general_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('户编号,身份证号,类别,月份,金额\n"H1",110101199001011234,wage,2026-09,"2,500"\n',
                      encoding="utf-8")
    assert import_read._plain_csv(quoted) is None
    table = read_columns(quoted, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
    assert table.frame["amount"].to_list() == ["2,500"]
    legacy = tmp_path / "legacy.csv"  # a GB18030 file without quotes: decoded as the general reader does
    legacy.write_bytes("户编号,身份证号,类别,月份,金额\nH1,110101199001011234,工资性收入,2026-09,800\n".encode("gb18030"))
    fast, slow = _both(legacy, monkeypatch)
    assert fast.frame.equals(slow.frame) and fast.frame["kind"].to_list() == ["工资性收入"]


def test_header_only_and_missing_columns_are_refused_as_before(tmp_path: Path) -> None:
    only = tmp_path / "only.csv"
    only.write_text("户编号,身份证号,类别,月份,金额\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="只有表头"):
        read_columns(only, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
    short = tmp_path / "short.csv"
    short.write_text("户编号,类别\nH1,wage\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="表头缺少必需列：amount"):
        read_columns(short, required=REQUIRED, optional=OPTIONAL, aliases=ALIASES)
