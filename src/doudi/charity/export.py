"""The needs ledger and the partner register as Excel sheets through core/excel.py (formula-leading cells
escaped); household ID numbers and phones masked, disability shown only as masked."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.charity import partners, service
from doudi.charity.labels import NEED_STATUS, OFFER, PARTNER_KIND, SOURCE, yuan
from doudi.core import excel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEED_HEADERS = ["需求编号", "家庭编号", "区划", "来源", "帮扶项目", "所需金额（元）", "规模", "说明", "办理期限",
                "状态", "承接机构", "户主", "身份证号", "联系电话", "残疾情况", "帮扶结果", "实际金额（元）", "版本"]
PARTNER_HEADERS = ["机构代码", "名称", "类型", "联系人", "服务区域", "帮扶项目", "承接能力", "状态"]


def need_sheet(session: Session, *, actor: Actor, filters: service.Filters, today: date) -> excel.Sheet:
    """One row per need in scope (a partner: only needs sent to it)."""
    needs = service.all_needs(session, actor=actor, filters=filters, today=today)
    names = partners.names(session, {n.partner_key for n in needs if n.partner_key})
    rows = [[r.id, r.household_id, r.area_code, SOURCE.get(r.source, r.source), OFFER.get(r.kind, r.kind),
             yuan(r.amount_fen), r.size, r.description, r.deadline.isoformat(), NEED_STATUS.get(r.status, r.status),
             names.get(r.partner_key or "", r.partner_key or ""), r.head_name, r.id_number, r.phone, r.disability,
             r.result, yuan(r.delivered_fen), r.version]
            for r in service.shown_all(session, needs)]
    return excel.Sheet("慈善衔接需求台账", [excel.Col(h) for h in NEED_HEADERS], rows,
                       caption="慈善衔接需求台账（身份证号、电话和残疾情况已脱敏）")


def partner_sheet(session: Session, *, actor: Actor) -> excel.Sheet:
    """The partner register the actor sees."""
    actor.require("charity.export")
    rows = [[p.key, p.name, PARTNER_KIND.get(p.kind, p.kind), p.contact, p.area_code,
             "、".join(OFFER.get(o, o) for o in p.offers),
             "、".join(f"{OFFER.get(k, k)} {v}" for k, v in (p.capacity or {}).items()), "在册" if p.active else "停用"]
            for p in partners.list_partners(session, actor=actor)]
    return excel.Sheet("社会力量合作机构", [excel.Col(h) for h in PARTNER_HEADERS], rows)
