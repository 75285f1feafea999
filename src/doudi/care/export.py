"""Excel ledgers of home care (through core/excel.py): visits, recipients, settlements with unpaid visits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.care.models import CareProvider, CareSettlement, VisitStatus
from doudi.care.rules import LEVEL_LABELS, LOCAL, utc
from doudi.care.service import SERVICES, recipients
from doudi.care.settlement import fen_to_yuan, settlement_lines, settlements, unpaid_visits
from doudi.care.visits import STATUS_LABELS, VisitFilter, flag_text, is_paid, settled_months, visit_query
from doudi.core.excel import Col, Sheet, to_bytes

YUAN = "0.00"


def _t(dt: Any) -> str:
    return utc(dt).astimezone(LOCAL).strftime("%H:%M") if dt is not None else ""


def visits_workbook(session: Session, *, actor: Actor, f: VisitFilter) -> bytes:
    """The visit ledger with the six EVV elements, flags and review reasons."""
    actor.require("care.export")

    settled = settled_months(session)

    def rows() -> Iterator[Sequence[Any]]:
        for v, person, giver, provider in session.execute(visit_query(actor, f)):
            yield (v.id, v.visit_date, person, v.area_code, provider, giver, SERVICES.get(v.service, v.service),
                   _t(v.planned_start), _t(v.planned_end), _t(v.check_in_at), _t(v.check_out_at), v.minutes,
                   v.counted_minutes, v.distance_m, STATUS_LABELS[VisitStatus(v.status)], flag_text(v.flags),
                   v.reason, "是" if is_paid(v, settled) else "否")

    cols = [Col("编号", 8), Col("服务日期", 12), Col("服务对象", 10, mask="name"), Col("区划", 14), Col("服务机构", 20),
            Col("护理员", 10), Col("服务类型", 10), Col("计划开始", 9), Col("计划结束", 9), Col("签到", 9),
            Col("签退", 9), Col("时长（分钟）", 10), Col("计入（分钟）", 10), Col("距离（米）", 10), Col("状态", 12),
            Col("核验提示", 30),
            Col("原因/意见", 30), Col("已结算", 8)]
    return to_bytes(Sheet("上门服务台账", cols, rows()))


def recipients_workbook(session: Session, *, actor: Actor, month: date) -> bytes:
    """The month's entitled persons (ID numbers masked)."""
    actor.require("care.export")
    rows, _ = recipients(session, actor=actor, month=month, per_page=1_000_000)
    cols = [Col("人员编号", 10), Col("姓名", 10), Col("身份证号", 20, mask="id_number"), Col("区划", 14),
            Col("自理能力", 10), Col("核定时数（小时/月）", 14), Col("服务机构", 20), Col("住址坐标", 10)]
    data = [(r.person_id, r.name, r.id_number, r.area_code, LEVEL_LABELS.get(r.level, r.level), r.hours, r.provider,  # type: ignore[call-overload]
             "有" if r.has_coords else "无") for r in rows]
    return to_bytes(Sheet("照料服务对象", cols, data, caption=f"{month:%Y年%m月} 居家照料服务对象"))


def settlement_workbook(session: Session, *, month: date, actor: Actor | None = None) -> bytes:
    """The month's settlement sheet: one sheet of providers, then per provider its paid persons and unpaid visits."""
    from doudi.auth.permissions import system_actor

    actor = actor or system_actor(name="export")
    found = settlements(session, actor=actor, month=month)
    summary = Sheet("结算汇总", [Col("结算单", 8), Col("服务机构", 22), Col("月份", 10), Col("核验上门次数", 12),
                                 Col("计费时长（小时）", 14), Col("单价（元/小时）", 14, number_format=YUAN),
                                 Col("金额（元）", 14, number_format=YUAN), Col("不予结算次数", 12)],
                    [(s.id, name, f"{s.month:%Y-%m}", s.visits, s.paid_minutes / 60, s.hourly_rate,
                      fen_to_yuan(s.amount_fen), s.unpaid_visits) for s, name in found],
                    caption=f"{month:%Y年%m月} 居家照料服务结算（仅计核验通过的服务时长）")
    sheets = [summary]
    for s, name in found:
        lines = settlement_lines(session, settlement_id=s.id)
        sheets.append(Sheet(f"{s.id}-{name}"[:28], [
            Col("人员编号", 10), Col("姓名", 10, mask="name"), Col("区划", 14), Col("上门次数", 10),
            Col("核验时长（分钟）", 14), Col("核定时长（分钟）", 14), Col("计费时长（分钟）", 14),
            Col("金额（元）", 12, number_format=YUAN)],
            [(*r[:7], fen_to_yuan(r[7])) for r in lines.iter_rows()]))
        unpaid = unpaid_visits(session, settlement=s)
        if unpaid.height:
            sheets.append(Sheet(f"{s.id}-不予结算"[:28], [Col("上门编号", 10), Col("人员编号", 10), Col("日期", 12),
                                                         Col("状态", 12), Col("原因", 30)],
                                [(r[0], r[1], r[2], STATUS_LABELS[VisitStatus(r[3])], r[4])
                                 for r in unpaid.iter_rows()]))
    return to_bytes(*sheets)


def provider_names(session: Session) -> dict[int, str]:
    """Provider id → name."""
    return dict(session.execute(select(CareProvider.id, CareProvider.name)).all())


def settlement_of(session: Session, settlement_id: int) -> CareSettlement | None:
    """A settlement by id (callers check scope)."""
    return session.get(CareSettlement, settlement_id)
