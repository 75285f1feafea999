"""Registry import end to end: commit/quarantine, idempotency, upserts and moves, malformed files, XLSX."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry.import_read import ImportFileError
from doudi.registry.importer import import_households
from doudi.registry.models import Household, Membership, Person
from tests.conftest import Database
from tests.factories import make_areas
from tests.registry.helpers import HEADER, family, pid, row, write_csv

ACTOR = system_actor(name="test-import")


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_good_households_commit_and_bad_ones_are_quarantined_whole(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    bad_spouse = row("H2", "spouse", "赵丽", date(1976, 2, 2), "F", 22)
    wrong = "0" if bad_spouse["id_number"][-1] != "0" else "1"
    bad_spouse["id_number"] = bad_spouse["id_number"][:17] + wrong
    rows = [*family("H1"), row("H2", "head", "赵刚", date(1975, 1, 1), "M", 21), bad_spouse]
    result = import_households(db, actor=ACTOR, path=write_csv(tmp_path / "h.csv", rows))
    # Rows: 2-4 family H1 (good), 5 H2 head (good but its household has a bad row), 6 H2 spouse (bad checksum).
    assert (result.rows_total, result.rows_ok, result.rows_rejected) == (5, 3, 2)
    assert (result.households_ok, result.households_rejected) == (1, 1)
    assert db.scalars(select(Household.household_no)).all() == ["H1"]
    assert _count(db, Person) == 3 and _count(db, Membership) == 3
    quarantined = {(r.row_number, r.field, r.reason) for r in db.scalars(select(RejectedRow))}
    assert quarantined == {
        (5, "household_no", "同户第 6 行有误，整户未导入"),
        (6, "id_number", f"校验码应为 {pid(date(1976, 2, 2), 22, 'F')[-1]}，实际为 {wrong}"),
    }
    raw = db.scalar(select(RejectedRow.raw).where(RejectedRow.row_number == 6))
    assert raw is not None and raw.get("name") == "赵丽"
    batch = db.scalar(select(IngestBatch))
    assert batch is not None and (batch.rows_ok, batch.rows_rejected, batch.status) == (3, 2, "done")
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "registry.import"))
    assert entry is not None and entry.object_id == str(batch.id)
    recorded: Any = entry.changes["_"]
    assert recorded["rows_rejected"] == 2


def test_reimport_is_a_no_op_and_changes_only_touch_what_differs(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    path = write_csv(tmp_path / "a.csv", family("H1"))
    first = import_households(db, actor=ACTOR, path=path)
    again = import_households(db, actor=ACTOR, path=path)
    assert again.duplicate_of == first.batch_id and again.batch_id is None
    assert _count(db, IngestBatch) == 1 and _count(db, Person) == 3

    # Same content in another file name with a changed phone: one person updated, nothing else.
    rows = family("H1")
    rows[0]["phone"] = "13800138000"
    changed = import_households(db, actor=ACTOR, path=write_csv(tmp_path / "b.csv", rows))
    assert changed.counts == {
        "households_new": 0,
        "households_updated": 0,
        "persons_new": 0,
        "persons_updated": 1,
        "memberships_new": 0,
        "memberships_closed": 0,
    }
    head = db.scalar(select(Person).where(Person.name == "王建国"))
    assert head is not None and head.phone == "13800138000" and head.version == 2

    # The son leaves H1 and heads H2: his H1 membership is closed (history kept), a new one opens.
    son = rows.pop()
    moved = row("H2", "head", "王小明", date(2000, 9, 1), "M", 13)
    assert moved["id_number"] == son["id_number"]
    result = import_households(db, actor=ACTOR, path=write_csv(tmp_path / "c.csv", [*rows, moved]))
    assert result.counts["memberships_closed"] == 1 and result.counts["memberships_new"] == 1
    assert result.counts["households_new"] == 1
    history = db.execute(
        select(Household.household_no, Membership.relation, Membership.valid_to)
        .join(Household, Household.id == Membership.household_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Person.name == "王小明")
        .order_by(Membership.id)
    ).all()
    assert [(h, r, v is None) for h, r, v in history] == [("H1", "child", False), ("H2", "head", True)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("h.pdf", b"%PDF-1.4", "不支持的文件类型 .pdf"),
        ("h.xls", b"\xd0\xcf\x11\xe0", "旧版 Excel (.xls)"),
        ("h.csv", b"", "为空或缺少表头"),
        ("h.csv", "户编号,姓名\nH1,王五\n".encode(), "表头缺少必需列：area_code, hukou_type, relation, id_number"),
        ("h.csv", b"household_no,name\x00\x01\x02", "不是文本 CSV 文件"),
        ("h.csv", b"\xff\xff\xff\xfe", "编码无法识别"),
        ("h.xlsx", b"not a zip at all", "不是有效的 .xlsx 文件"),
    ],
)
def test_malformed_files_fail_clearly_and_write_nothing(
    db: Session, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    make_areas(db)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_households(db, actor=ACTOR, path=path)
    assert _count(db, IngestBatch) == 0 and _count(db, Household) == 0 and _count(db, Person) == 0


def test_missing_file_is_a_clear_error(db: Session, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="找不到文件"):
        import_households(db, actor=ACTOR, path=tmp_path / "nope.csv")


def test_xlsx_with_chinese_header_and_gb18030_csv(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(
        ["户编号", "区划代码", "地址", "户口类型", "与户主关系", "姓名", "身份证号", "性别", "出生日期", "联系电话"]
    )
    for r in family("X1"):
        ws.append([r[c] for c in HEADER])
    number_cell = row("X2", "head", "钱七", date(1960, 6, 6), "M", 51)
    ws.append([int(number_cell["id_number"]) if c == "id_number" else number_cell[c] for c in HEADER])
    wb.save(tmp_path / "h.xlsx")
    result = import_households(db, actor=ACTOR, path=tmp_path / "h.xlsx")
    # An ID typed as a number in Excel loses its last digits (floating point): the row is quarantined.
    assert result.rows_ok == 3 and result.rows_rejected == 1
    assert "id_number" in result.rejects["field"].to_list()

    gb = import_households(db, actor=ACTOR, path=write_csv(tmp_path / "gb.csv", family("G1", 60), encoding="gb18030"))
    assert gb.rows_ok == 3
    assert db.scalar(select(Person.name).where(Person.id_number == pid(date(1970, 5, 1), 61, "M"))) == "王建国"


def _cli(database: Database, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOUDI_DATABASE_URL": database.url, "DOUDI_DATA_DIR": str(tmp_path / "var")}
    return subprocess.run(
        [sys.executable, "-m", "doudi", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_reports_quarantine_and_exit_codes(fresh_database: Database, tmp_path: Path) -> None:
    from doudi.db.engine import session_scope

    with session_scope(fresh_database.engine) as session:
        make_areas(session)
    rows = [*family("H1"), row("H2", "head", "孙八", date(1980, 1, 1), "M", 71, hukou_type="city")]
    path = write_csv(tmp_path / "in.csv", rows)
    done = _cli(fresh_database, tmp_path, "import", "households", str(path))
    assert done.returncode == 3, done.stderr
    assert "导入 3 行（1 户），隔离 1 行（1 户）" in done.stdout
    report = (tmp_path / "in.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert report[0] == "行号,字段,原因,户编号,姓名,身份证号"
    assert report[1].startswith("5,hukou_type,值 city 不在可选范围：urban、rural,H2,孙八,")
    again = _cli(fresh_database, tmp_path, "import", "households", str(path))
    assert again.returncode == 0 and "本次未做任何更改" in again.stdout

    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    bad = _cli(fresh_database, tmp_path, "import", "households", str(tmp_path / "bad.csv"))
    assert bad.returncode == 2 and "表头缺少必需列" in bad.stderr
    with session_scope(fresh_database.engine) as session:
        assert session.scalar(select(func.count()).select_from(IngestBatch)) == 1
        assert session.scalar(select(func.count()).select_from(Person)) == 3


def test_a_township_cannot_take_over_another_townships_household(db: Session, tmp_path: Path) -> None:
    from doudi.auth import service as auth
    from tests.factories import TOWN_A, TOWN_B, VILLAGE_B1, make_user

    make_areas(db)
    # Township B registers its family H9 first.
    import_households(db, actor=ACTOR, path=write_csv(tmp_path / "b.csv",
                                                      [{**r, "area_code": VILLAGE_B1} for r in family("H9", 40)]))
    worker_a = auth.actor_for(make_user(db, "import_a", ["township_caseworker"], TOWN_A))
    del TOWN_B
    # Township A's file names the same household number (moving it into A's village) and, separately, the same
    # head in a new household: both must be quarantined, and B's household must stay as it was.
    moved = [{**r, "hukou_type": "rural"} for r in family("H9", 40)]
    poached = [row("H10", "head", "王建国", date(1970, 5, 1), "M", 41)]
    result = import_households(db, actor=worker_a, path=write_csv(tmp_path / "a.csv", moved + poached))
    assert result.rows_ok == 0 and result.households_rejected == 2
    reasons = set(result.rejects["reason"].to_list())
    assert any("户编号已在辖区外（370784002001）登记" in r for r in reasons)
    assert any("辖区外（370784002001）家庭的现有成员" in r for r in reasons)
    hh = db.scalars(select(Household).where(Household.household_no == "H9")).one()
    assert (hh.area_code, hh.hukou_type) == (VILLAGE_B1, "urban")
    assert _count(db, Household) == 1
