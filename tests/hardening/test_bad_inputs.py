"""Bad input in registry imports and feeds (issue 14 item 10): a quote never closed, an Excel formula, a second
sheet, an over-long field, a header-only file and a compression bomb each give a clear Chinese error naming the
row and field (or the file); good rows are kept and bad ones quarantined."""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.core.errors import ValidationFailed
from doudi.core.uploads import MAX_FIELD_CHARS, FileRefused, check_xlsx, copy_capped, csv_records
from doudi.registry.import_read import ImportFileError
from doudi.registry.importer import import_households
from doudi.registry.models import Household, Person
from doudi.verification.readers import read_chunks
from tests.factories import make_areas
from tests.registry.helpers import HEADER, family, write_csv

ACTOR = system_actor(name="test-bad-input")
TODAY = date(2026, 11, 1)


def _line(r: dict[str, str]) -> str:
    buf = StringIO()
    csv.writer(buf, lineterminator="\n").writerow([r.get(c, "") for c in HEADER])
    return buf.getvalue()


def _reasons(result: object) -> list[tuple[int, str, str]]:
    return [tuple(r) for r in result.rejects.select("row_number", "field", "reason").iter_rows()]  # type: ignore[attr-defined]


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_records_isolate_a_quote_never_closed() -> None:
    # Line 3 opens a quote that never closes: the csv module alone reads lines 3-5 as one field.
    text = 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n10,11,12\n'
    records = list(csv_records(text))
    assert [(r.line, r.problem is not None) for r in records] == [(1, False), (2, False), (3, True), (4, False),
                                                                  (5, False)]
    assert "引号未闭合" in (records[2].problem or "")
    # Two stray quotes enclose whole rows (lines 4 has the header's three fields): line 3 is isolated.
    text = 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n10,11",12\n13,14,15\n'
    assert [r.line for r in csv_records(text) if r.problem] == [3]
    # A quoted address over two lines is data, not a broken quote.
    assert [r.fields for r in csv_records('a,b,c\n1,"东村\n2号",3\n')][1] == ["1", "东村\n2号", "3"]


def test_registry_import_quarantines_a_quote_never_closed_and_keeps_the_rest(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    good = family("H001", 10)
    later = family("H002", 20)
    lines = [",".join(HEADER) + "\n"] + [_line(r) for r in good]
    # Line 5 (header + 3 rows before it): the name field opens a quote and never closes it.
    lines.append(_line(later[0]).replace(later[0]["name"], '"' + later[0]["name"], 1))
    lines += [_line(r) for r in later[1:]] + [_line(r) for r in family("H003", 30)]
    path = tmp_path / "quote.csv"
    path.write_text("".join(lines), encoding="utf-8")
    result = import_households(db, actor=ACTOR, path=path, today=TODAY)
    reasons = _reasons(result)
    assert reasons[0][0] == 5 and reasons[0][1] == "*" and "引号未闭合" in reasons[0][2]
    # H001 (3) and H003 (3) imported; H002 loses its head row (line 5) and its other members (lines 6, 7)
    # are rejected with their household, so nothing after the quote vanishes unreported.
    assert result.rows_ok == 6
    assert {r[0] for r in reasons} == {5, 6, 7}
    assert _count(db, Household) == 2 and _count(db, Person) == 6


def test_registry_import_names_the_row_and_field_of_an_over_long_value(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    rows = family("H001", 10) + family("H002", 20)
    rows[4]["address"] = "东" * 200_000  # over the csv module's own 131,072 and over MAX_FIELD_CHARS
    result = import_households(db, actor=ACTOR, path=write_csv(tmp_path / "long.csv", rows), today=TODAY)
    reasons = _reasons(result)
    # rows[4] is line 6 (header is line 1); its household's other rows (5, 7) go with it.
    assert (6, "*", f"字段 address 长 200,000 字符，超过 {MAX_FIELD_CHARS:,} 字符上限") in reasons
    assert result.rows_ok == 3 and _count(db, Household) == 1


def _xlsx(path: Path, rows: list[dict[str, str]], *, extra_sheet: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for r in rows:
        ws.append([r.get(c, "") for c in HEADER])  # openpyxl stores a value starting with '=' as a formula
    if extra_sheet:
        wb.create_sheet("第二批").append(HEADER)
    wb.save(path)
    return path


def test_registry_import_refuses_formula_cells_and_keeps_other_households(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    rows = family("H001", 10) + family("H002", 20)
    rows[1]["name"] = '=CONCAT("李","秀英")'  # line 3
    result = import_households(db, actor=ACTOR, path=_xlsx(tmp_path / "f.xlsx", rows), today=TODAY)
    own = [r for r in _reasons(result) if r[0] == 3]
    assert len(own) == 1 and own[0][1] == "*" and "字段 name 是公式" in own[0][2] and "粘贴为数值" in own[0][2]
    # H001 (lines 2-4) is held back with its member; H002 (lines 5-7) is imported.
    assert {r[0] for r in _reasons(result)} == {2, 3, 4}
    assert result.rows_ok == 3


def test_registry_import_refuses_a_second_sheet_with_data(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    with pytest.raises(ImportFileError, match="第二批"):
        import_households(db, actor=ACTOR, path=_xlsx(tmp_path / "two.xlsx", family(), extra_sheet=True), today=TODAY)


def test_header_only_registry_file_is_an_error(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    with pytest.raises(ImportFileError, match="只有表头，没有数据行"):
        import_households(db, actor=ACTOR, path=write_csv(tmp_path / "h.csv", []), today=TODAY)


def _bomb(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * size)  # compresses about 1000 times
    return path


def test_xlsx_compression_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.xlsx", 20 * 1024 * 1024)
    with pytest.raises(FileRefused, match="疑似压缩炸弹"):
        check_xlsx(path)
    with pytest.raises(FileRefused, match="解压后共 20 MB，超过 10 MB 上限"):
        check_xlsx(path, max_uncompressed=10 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as err:
        list(read_chunks(path))
    assert "疑似压缩炸弹" in err.value.errors[0].message


def test_feed_reader_quarantines_broken_quote_formula_and_long_field(tmp_path: Path) -> None:
    path = tmp_path / "tax.csv"
    long = "x" * (MAX_FIELD_CHARS + 1)
    path.write_text("id_number,name,month,amount\n"
                    "1,张三,2026-01,100\n"       # record 1
                    '2,"李四,2026-01,100\n'      # record 2: quote never closed
                    "3,王五,2026-01,100\n"       # record 3
                    f"4,{long},2026-01,100\n"    # record 4: over-long name
                    "5,赵六,2026-01,100\n", encoding="utf-8")
    chunks = list(read_chunks(path))
    kept = [n for c in chunks for n in c.frame["row_number"].to_list()]
    broken = {n: reason for c in chunks for n, reason, _raw in c.broken}
    assert kept == [1, 3, 5]
    assert "引号未闭合" in broken[2]
    assert broken[4] == f"字段 name 长 {MAX_FIELD_CHARS + 1:,} 字符，超过 {MAX_FIELD_CHARS:,} 字符上限"

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id_number", "name", "amount"])
    ws.append(["1", "张三", 100])
    ws.append(["2", "李四", "=SUM(1,2)"])
    wb.save(tmp_path / "tax.xlsx")
    chunks = list(read_chunks(tmp_path / "tax.xlsx"))
    assert [n for c in chunks for n in c.frame["row_number"].to_list()] == [1]
    assert [(n, reason[:13]) for c in chunks for n, reason, _raw in c.broken] == [(2, "字段 amount 是公式")]


def test_upload_copy_stops_at_the_cap() -> None:
    out = BytesIO()
    with pytest.raises(ValidationFailed, match="文件超过 1 MB 上限"):
        copy_capped(BytesIO(b"x" * (1024 * 1024 + 1)), out, max_bytes=1024 * 1024)
