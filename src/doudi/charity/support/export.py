"""Excel exports of the support ledgers through the shared writer (workers' phones masked)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.charity.support import pairing, service
from doudi.charity.support.labels import ITEM_KIND_LABELS, ITEM_LABELS, PLAN_LABELS
from doudi.charity.support.models import PairingItem, Plan
from doudi.core import excel

MAX_ROWS = 1_000_000


def plans(session: Session, *, actor: Actor, status: str = "", q: str = "", today: date) -> bytes:
    """The plan ledger with the last visit and whether a visit is overdue."""
    actor.require("support.export")
    stmt = service.plans_query(actor, status=status, q=q).order_by(Plan.id).limit(MAX_ROWS)
    rows = ([p.id, hh_no, p.area_code, p.worker_name, p.worker_phone, p.partner_key or "", p.opened_on, last,
             "是" if p.status == "open" and service.visit_overdue(last, p.opened_on, area=p.area_code, today=today)
             else "否", PLAN_LABELS.get(p.status, p.status), p.closed_on, p.closure]
            for p, last, hh_no in session.execute(stmt))
    cols = [excel.Col("计划编号", 8), excel.Col("家庭编号", 14), excel.Col("区划", 14), excel.Col("社工", 10),
            excel.Col("社工电话", 14, mask="phone"), excel.Col("社工机构", 14), excel.Col("开始日期", 12),
            excel.Col("最近走访", 12), excel.Col("走访逾期", 8), excel.Col("状态", 8), excel.Col("结案日期", 12),
            excel.Col("结案原因", 24)]
    return excel.to_bytes(excel.Sheet("一对一帮扶", cols, rows, caption="社工一对一帮扶台账"))


def items(session: Session, *, actor: Actor, today: date, overdue: bool = False, q: str = "") -> bytes:
    """The pledged items of pairing agreements (all, or the overdue ones)."""
    actor.require("support.export")
    stmt = pairing.items_query(actor, today=today, overdue=overdue, q=q).order_by(PairingItem.due_on).limit(MAX_ROWS)
    rows = ([g.id, g.company_name, g.partner_key, g.household_id, it.area_code, ITEM_KIND_LABELS.get(it.kind, it.kind),
             it.description, it.value_fen / 100, it.due_on, ITEM_LABELS.get(it.status, it.status), it.delivered_on,
             it.delivery_note] for it, g in session.execute(stmt))
    cols = [excel.Col("协议编号", 8), excel.Col("帮扶企业", 20), excel.Col("合作方编号", 12), excel.Col("家庭编号", 10),
            excel.Col("区划", 14), excel.Col("类别", 8), excel.Col("内容", 24),
            excel.Col("价值(元)", 12, number_format="0.00"),
            excel.Col("约定日期", 12), excel.Col("状态", 8), excel.Col("兑现日期", 12), excel.Col("兑现情况", 24)]
    title = "逾期未兑现事项" if overdue else "签约帮扶事项"
    return excel.to_bytes(excel.Sheet(title, cols, rows, caption=f"签约帮扶 {title}（{today}）"))
