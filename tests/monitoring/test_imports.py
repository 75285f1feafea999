"""Dispositions made offline: the exported ledger, filled in Excel, imported back (both backends)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.auth.service import actor_for
from doudi.cases.models import Enrollment
from doudi.core import excel
from doudi.monitoring import export, imports, service
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from tests.factories import make_user
from tests.monitoring.builders import ON, county, death_feed


def _filled(db: Session, actor: object, fill: dict[int, tuple[str, str]], extra: list[list[object]]) -> bytes:
    """The ledger exported as Excel, with `fill` (warning id → disposition, note) written into it offline."""
    data = export.rows(db, actor=actor, filters=service.Filters(), today=ON)  # type: ignore[arg-type]
    wb = load_workbook(io.BytesIO(excel.to_bytes(export.sheet(data))))
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[2]]  # row 1 is the caption, row 2 the Chinese headers
    named = dict(zip(export.HEADERS, export.COLUMNS, strict=True))
    col = {named[h]: i + 1 for i, h in enumerate(header)}
    for r in range(3, ws.max_row + 1):
        wid = int(ws.cell(r, col["id"]).value)
        if wid in fill:
            ws.cell(r, col["disposition"]).value, ws.cell(r, col["note"]).value = fill[wid]
    for row in extra:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_reimport_applies_good_rows_and_names_bad_ones(db: Session, tmp_path: Path) -> None:
    """Three warnings (A's death and supporter lost, B's overdue review) exported to the county officer. Filled:
    death → 暂停发放待核实 (applied: A's enrollment suspended); supporter lost → an unknown word (rejected,
    disposition); B's review → 启动复核, but B's warning was verified online after the export (version 1 → 2:
    rejected, version); plus a row naming warning 999999 (rejected, id). 1 applied, 0 blank, 3 rejected."""
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=system_actor(name="test"), on=ON, area="370784")
    officer = actor_for(make_user(db, "imp_county", ["county_officer"], "370784"))
    ws = {w.rule_key: w for w in db.scalars(select(MonitorWarning))}
    death, lost, review = ws["death"], ws["supporter_lost"], ws["review_overdue"]
    data = _filled(db, officer, {death.id: ("暂停发放待核实", "火化记录属实"), lost.id: ("不知道", "x"),
                                 review.id: ("启动复核", "安排复核")},
                   [[999999, "death", "", "", "", "", "", "", "", "", "", "", "无需处置", "重复", 1]])
    service.verify(db, actor=officer, warning_id=review.id, version=review.version, note="已电话核实")
    result = imports.import_dispositions(db, actor=officer, data=data, filename="台账.xlsx", today=ON)
    assert result.applied == [death.id] and result.blank == 0
    assert sorted((r.warning_id, r.field) for r in result.rejected) == sorted(
        [(str(lost.id), "disposition"), (str(review.id), "version"), ("999999", "id")])
    assert all(r.message.startswith(f"第 {r.line} 行") for r in result.rejected)
    db.refresh(death)
    db.refresh(review)
    assert death.status == "disposed" and death.disposition == "suspend" and death.note == "火化记录属实"
    assert review.status == "verifying" and review.disposition is None  # the online change stands
    enrollment = db.scalar(select(Enrollment).where(Enrollment.household_id == c.a.id))
    assert enrollment is not None and enrollment.status == "suspended"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "monitoring.import_dispositions"))
    assert entry is not None and len(entry.changes["_"]["rejected"]) == 3  # type: ignore[index]


def test_unreadable_file_is_refused_whole(db: Session) -> None:
    """A file without the ledger's header, or of another type, is refused before anything changes."""
    officer = actor_for(make_user(db, "imp_county2", ["county_officer"], "370784"))
    with pytest.raises(imports.DispositionFileError, match="找不到台账表头"):
        imports.import_dispositions(db, actor=officer, data="姓名,说明\n张三,x\n".encode(), filename="a.csv",
                                    today=ON)
    with pytest.raises(imports.DispositionFileError, match="不支持的文件类型"):
        imports.import_dispositions(db, actor=officer, data=b"x", filename="a.pdf", today=ON)
