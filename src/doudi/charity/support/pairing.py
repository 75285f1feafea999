"""Enterprise pairing (签约帮扶): a company's agreement with a household, the items it pledges with their due
dates, their delivery, and the pledges overdue (late by the pack's days or more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area
from doudi.charity.fund.labels import yuan
from doudi.charity.fund.service import Page, paged
from doudi.charity.support.models import ItemStatus, Pairing, PairingItem, PairingStatus
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.versions import add_unique, claim
from doudi.policy.params import load_pack
from doudi.registry.models import Household

KINDS = {"cash", "goods", "service", "job"}


@dataclass(frozen=True)
class ItemIn:
    """One pledged item as entered."""

    kind: str
    description: str
    due_on: date
    value_fen: int = 0


def sign(session: Session, *, actor: Actor, partner_key: str, company_name: str, household_id: int, pledge: str,
         signed_on: date, start_on: date, end_on: date, items: list[ItemIn]) -> Pairing:
    """Record a signed agreement and its pledged items."""
    actor.require("support.manage")
    hh = get_in_area(session, Household, household_id, actor=actor, action=None, label="家庭")
    errors = []
    if not partner_key.strip() or not company_name.strip():
        errors.append(FieldError("partner_key", "须填写帮扶企业（合作方编号和名称）"))
    if not pledge.strip():
        errors.append(FieldError("pledge", "须写明帮扶承诺"))
    if end_on < start_on:
        errors.append(FieldError("end_on", "帮扶期止日不能早于起日"))
    for i, it in enumerate(items, start=1):
        if it.kind not in KINDS:
            errors.append(FieldError("items", f"第 {i} 项的类别应为 现金、物资、服务 或 就业岗位", row=i))
        if not it.description.strip():
            errors.append(FieldError("items", f"第 {i} 项须写明内容", row=i))
        if it.value_fen < 0:
            errors.append(FieldError("items", f"第 {i} 项的价值不能为负", row=i))
        if not start_on <= it.due_on <= end_on:
            errors.append(FieldError("items", f"第 {i} 项的兑现日期须在帮扶期内", row=i))
    if errors:
        raise ValidationFailed(errors)
    p = Pairing(partner_key=partner_key.strip()[:64], company_name=company_name.strip()[:100], household_id=hh.id,
                area_code=hh.area_code, pledge=pledge.strip()[:300], signed_on=signed_on, start_on=start_on,
                end_on=end_on, created_by=actor.username)
    add_unique(session, p, message="该企业与该家庭同一起始日的帮扶协议已登记")
    session.add_all([PairingItem(pairing_id=p.id, area_code=hh.area_code, kind=it.kind,
                                 description=it.description.strip()[:200], value_fen=it.value_fen, due_on=it.due_on)
                     for it in items])
    session.flush()
    audit.record(session, actor=actor, action="pairing.sign", object_type="pairing", object_id=p.id,
                 area_code=hh.area_code, after={"partner_key": p.partner_key, "household_id": hh.id,
                                                "items": len(items), "period": f"{start_on}~{end_on}"})
    return p


def get_pairing(session: Session, *, actor: Actor, pairing_id: int) -> Pairing:
    """An agreement in the actor's area."""
    return get_in_area(session, Pairing, pairing_id, actor=actor, action="support.read", label="签约帮扶")


def items_of(session: Session, pairing_id: int) -> list[PairingItem]:
    """An agreement's items by due date."""
    return list(session.scalars(select(PairingItem).where(PairingItem.pairing_id == pairing_id)
                                .order_by(PairingItem.due_on, PairingItem.id)))


def deliver(session: Session, *, actor: Actor, item_id: int, version: int | None, delivered_on: date, note: str,
            today: date) -> PairingItem:
    """Record an item as delivered (once)."""
    actor.require("support.manage")
    it = get_in_area(session, PairingItem, item_id, actor=actor, action=None, label="帮扶事项")
    claim(session, it, version, label="该帮扶事项")
    if it.status == ItemStatus.DELIVERED:
        raise Conflict("该事项已登记兑现")
    if delivered_on > today:
        raise ValidationFailed([FieldError("delivered_on", "兑现日期不能晚于今天")])
    if not note.strip():
        raise ValidationFailed([FieldError("note", "须说明兑现情况（如物资清单、签收人）")])
    it.status, it.delivered_on, it.delivery_note = ItemStatus.DELIVERED, delivered_on, note.strip()[:300]
    session.flush()
    audit.record(session, actor=actor, action="pairing.deliver", object_type="pairing_item", object_id=it.id,
                 area_code=it.area_code, before={"status": "pledged"},
                 after={"status": "delivered", "delivered_on": delivered_on.isoformat(), "value": yuan(it.value_fen)})
    return it


def overdue_cutoff(area: str, today: date) -> date:
    """Items due on or before this date and still pledged are overdue (late by the pack's days or more)."""
    return today - timedelta(days=int(load_pack(area).value("charity.pairing.overdue_days", on=today)))


def items_query(actor: Actor, *, today: date, overdue: bool = False, q: str = "", area: str = "") -> Any:
    """Pledged items with their agreement, in the actor's area; `overdue` keeps the overdue ones."""
    actor.require("support.read")
    stmt: Any = in_area(select(PairingItem, Pairing).join(Pairing, Pairing.id == PairingItem.pairing_id),
                   PairingItem.area_code, actor)
    if overdue:
        stmt = stmt.where(PairingItem.status == ItemStatus.PLEDGED,
                          PairingItem.due_on <= overdue_cutoff(area or actor.area_code or "000000", today))
    if q:
        stmt = stmt.where(Pairing.company_name.contains(q) | (Pairing.partner_key == q))
    return stmt


def list_items(session: Session, *, actor: Actor, today: date, overdue: bool = False, q: str = "", page: int = 1,
               per_page: int = 20) -> Page:
    """One page of pledged items (item, agreement), earliest due first."""
    stmt = items_query(actor, today=today, overdue=overdue, q=q)
    from sqlalchemy import func

    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.execute(stmt.order_by(PairingItem.due_on, PairingItem.id).limit(per_page)
                                .offset((page - 1) * per_page)).all())
    return Page(rows, total)


def list_pairings(session: Session, *, actor: Actor, status: str = "", q: str = "", page: int = 1,
                  per_page: int = 20) -> Page:
    """One page of agreements, newest first."""
    actor.require("support.read")
    stmt = in_area(select(Pairing), Pairing.area_code, actor)
    if status:
        stmt = stmt.where(Pairing.status == status)
    if q:
        stmt = stmt.where(Pairing.company_name.contains(q) | (Pairing.partner_key == q))
    return paged(session, stmt, Pairing.id.desc(), page, per_page)


def end_due(session: Session, *, actor: Actor, today: date) -> int:
    """Agreements past their end date are ended (daily)."""
    rows = list(session.scalars(in_area(select(Pairing), Pairing.area_code, actor).where(
        Pairing.status == PairingStatus.ACTIVE, Pairing.end_on < today)))
    for p in rows:
        claim(session, p, label="该签约帮扶")
        p.status = PairingStatus.ENDED
        audit.record(session, actor=actor, action="pairing.end", object_type="pairing", object_id=p.id,
                     area_code=p.area_code, after={"status": "ended"})
    return len(rows)
