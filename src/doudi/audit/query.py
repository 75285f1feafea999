"""Reading the audit log: filtered, scoped, paginated, exportable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from doudi.areas.codes import level_of
from doudi.audit import labels
from doudi.audit.models import AuditEntry
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.core import clock
from doudi.core.excel import Col, Sheet, to_bytes


@dataclass
class AuditFilter:
    """Audit viewer criteria."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _stmt(actor: Actor, f: AuditFilter) -> Select[Any]:
    stmt = select(AuditEntry)
    if not actor.system:
        in_area = area_clause(AuditEntry.area_code, actor)
        # Entries without an area (e.g. a failed login for an unknown name) are for county level and above.
        if level_of(actor.area_code) in {"province", "city", "county"}:
            in_area = or_(in_area, AuditEntry.area_code.is_(None))
        stmt = stmt.where(in_area)
    if f.actor:
        stmt = stmt.where(AuditEntry.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditEntry.action.startswith(f.action))
    if f.outcome:
        stmt = stmt.where(AuditEntry.outcome == f.outcome)
    if f.object_type:
        stmt = stmt.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEntry.object_id == f.object_id)
    if f.date_from:
        stmt = stmt.where(AuditEntry.at >= clock.day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditEntry.at < clock.day_start(f.date_to + timedelta(days=1)))
    return stmt


def search(
    session: Session, *, actor: Actor, filters: AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEntry], int]:
    """A page of entries, newest first, and the total count."""
    actor.require("audit.read")
    stmt = _stmt(actor, filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), int(total)


COLUMNS = [Col("序号", 8), Col("时间", 20), Col("操作人", 14), Col("来源地址", 16), Col("操作", 24),
           Col("对象类型", 14), Col("对象", 16), Col("区划", 14), Col("结果", 8), Col("变更", 60), Col("哈希", 20)]


def export_xlsx(session: Session, *, actor: Actor, filters: AuditFilter, limit: int = 200_000,
                words: Callable[[str], str] | None = None) -> bytes:
    """The filtered entries as an Excel workbook (streamed from the query, formula-safe), in words
    (`words` names coded values in the recorded changes)."""
    actor.require("audit.export")
    stmt = _stmt(actor, filters).order_by(AuditEntry.seq).limit(limit)

    def lines() -> Iterator[list[Any]]:
        for e in session.scalars(stmt):
            at = clock.local(e.at).strftime("%Y-%m-%d %H:%M:%S")
            obj = labels.route_text(e.object_id) if e.object_type == "route" else e.object_id
            yield [e.seq, at, e.actor, e.ip, labels.action_label(e.action), labels.object_label(e.object_type),
                   obj, e.area_code or "", labels.outcome_label(e.outcome),
                   labels.changes_text(e.changes, words), e.hash]

    return to_bytes(Sheet("审计日志", COLUMNS, lines()))
