"""The fund's ledger: donations in, grants out under maker-checker, and the pools' balances.

Every operation is one transaction of the caller: the donation (or grant decision) and its movement are written
together or not at all. A movement takes the next number of its pool, so of two concurrent postings to one pool
the second is refused by the database instead of overdrawing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area, under
from doudi.cases.models import Case
from doudi.charity.fund.labels import PURPOSE_LABELS, yuan
from doudi.charity.fund.models import (
    Donation,
    Grant,
    GrantStatus,
    Movement,
    MovementKind,
    Policy,
    PolicyStatus,
    Purpose,
)
from doudi.charity.refs import check_need
from doudi.core import clock
from doudi.core.dates import next_month
from doudi.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from doudi.db.versions import add_unique, claim
from doudi.registry.models import Household

PURPOSES = {p.value for p in Purpose}
DONOR_KINDS = {"person", "company", "anonymous"}


@dataclass(frozen=True)
class Page:
    """One page of a ledger and the number of rows it was cut from."""

    rows: list[Any]
    total: int


def county_code(actor: Actor, area_code: str) -> str:
    """The county whose fund is meant (6 digits, in the actor's area), or a refusal naming the field."""
    code = area_code.strip()
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed([FieldError("area_code", "慈善救助基金按县（市、区）设立：请填写 6 位县级区划代码")])
    if not actor.sees(code):
        raise NotFound(f"县级区划 {code}")
    return code


def _purpose(value: str, field: str = "purpose") -> str:
    if value not in PURPOSES:
        raise ValidationFailed([FieldError(field, f"用途应为：{'、'.join(PURPOSE_LABELS.values())}")])
    return value


def pool_balance(session: Session, *, county: str, pool: str) -> tuple[int, int]:
    """(last movement number, balance in fen) of one pool."""
    last = session.execute(select(Movement.seq, Movement.balance_fen).where(
        Movement.area_code == county, Movement.pool == pool).order_by(Movement.seq.desc()).limit(1)).first()
    return (int(last[0]), int(last[1])) if last else (0, 0)


def balances(session: Session, *, actor: Actor, county: str) -> dict[str, int]:
    """Each pool's balance in fen, derived from the movements themselves (the sum of in and out)."""
    actor.require("fund.read")
    county = county_code(actor, county)
    rows = session.execute(select(Movement.pool, func.sum(Movement.delta_fen)).where(
        Movement.area_code == county).group_by(Movement.pool))
    out = {p.value: 0 for p in Purpose}
    out.update({pool: int(total) for pool, total in rows})
    return out


def pending_fen(session: Session, *, county: str, pool: str) -> int:
    """What grants waiting for approval would take from a pool."""
    total = session.scalar(under(select(func.coalesce(func.sum(Grant.amount_fen), 0)), Grant.area_code, county).where(
        Grant.pool == pool, Grant.status == GrantStatus.PENDING))
    return int(total or 0)


def _post(session: Session, *, county: str, pool: str, kind: MovementKind, purpose: str, delta: int, on: date,
          donation_id: int | None = None, grant_id: int | None = None) -> Movement:
    seq, bal = pool_balance(session, county=county, pool=pool)
    after = bal + delta
    if after < 0:
        raise Conflict(f"{PURPOSE_LABELS.get(pool, pool)}资金余额 {yuan(bal)} 元，不足支出 {yuan(-delta)} 元"
                       + ("（定向捐赠只能用于其指定用途）" if pool != Purpose.GENERAL else ""))
    m = Movement(area_code=county, pool=pool, seq=seq + 1, kind=kind, purpose=purpose, delta_fen=delta,
                 balance_fen=after, month=on.replace(day=1), donation_id=donation_id, grant_id=grant_id)
    add_unique(session, m, message="基金台账已被他人同时记账，请刷新后重试")
    return m


def record_donation(session: Session, *, actor: Actor, area_code: str, receipt_no: str, donor_name: str,
                    amount_fen: int, purpose: str, restricted: bool, received_on: date, today: date,
                    donor_kind: str = "person",
                    donor_contact: str = "", restrictions: str = "") -> Donation:
    """Record a donation with its receipt and post it to its pool (the purpose's when restricted, else general)."""
    actor.require("fund.donate")
    county = county_code(actor, area_code)
    errors = []
    if not receipt_no.strip():
        errors.append(FieldError("receipt_no", "须填写捐赠票据号"))
    if not donor_name.strip():
        errors.append(FieldError("donor_name", "须填写捐赠人（匿名捐赠填“匿名”）"))
    if donor_kind not in DONOR_KINDS:
        errors.append(FieldError("donor_kind", "捐赠人类别应为 个人、单位 或 匿名"))
    if amount_fen <= 0:
        errors.append(FieldError("amount", "捐赠金额须大于 0"))
    if received_on > today:
        errors.append(FieldError("received_on", "到账日期不能晚于今天"))
    _purpose(purpose)
    if restricted and purpose == Purpose.GENERAL:
        errors.append(FieldError("restricted", "定向捐赠须指定具体用途"))
    if errors:
        raise ValidationFailed(errors)
    d = Donation(area_code=county, receipt_no=receipt_no.strip(), donor_name=donor_name.strip()[:100],
                 donor_kind=donor_kind, donor_contact=donor_contact.strip()[:40], amount_fen=amount_fen,
                 purpose=purpose, restricted=restricted, restrictions=restrictions.strip()[:300],
                 received_on=received_on, recorded_by=actor.username)
    add_unique(session, d, message=f"捐赠票据号 {receipt_no.strip()} 已登记过，同一笔捐赠不能重复入账")
    pool = purpose if restricted else Purpose.GENERAL
    m = _post(session, county=county, pool=pool, kind=MovementKind.DONATION, purpose=purpose, delta=amount_fen,
              on=received_on, donation_id=d.id)
    audit.record(session, actor=actor, action="fund.donation", object_type="fund_donation", object_id=d.id,
                 area_code=county, after={"receipt_no": d.receipt_no, "amount": yuan(amount_fen), "purpose": purpose,
                                          "restricted": restricted, "pool": pool, "balance": yuan(m.balance_fen)})
    return d


def _target(session: Session, actor: Actor, *, case_id: int | None, household_id: int | None) -> tuple[str, int | None]:
    """The area the grant belongs to (the household's or the case's), checked against the actor's scope."""
    if case_id is not None:
        case = get_in_area(session, Case, case_id, actor=actor, action=None, label="案件")
        if household_id is not None and case.household_id not in (None, household_id):
            raise ValidationFailed([FieldError("case_id", f"案件 {case_id} 不属于家庭 {household_id}")])
        return case.area_code, household_id or case.household_id
    if household_id is not None:
        hh = get_in_area(session, Household, household_id, actor=actor, action=None, label="家庭")
        return hh.area_code, hh.id
    raise ValidationFailed([FieldError("household_id", "拨付须关联案件或家庭")])


def make_grant(session: Session, *, actor: Actor, amount_fen: int, purpose: str, pool: str, reason: str,
               need_id: int | None = None, case_id: int | None = None, household_id: int | None = None,
               policy: tuple[int, str] | None = None) -> Grant:
    """Propose a grant from one pool (the maker); it moves no money until a second person approves it.
    `policy` = (policy id, county) for a group policy's premium instead of a case or household."""
    actor.require("fund.grant")
    _purpose(purpose)
    _purpose(pool, "pool")
    if pool not in (purpose, Purpose.GENERAL):
        raise ValidationFailed([FieldError("pool", f"定向资金只能用于其用途：{PURPOSE_LABELS.get(pool, pool)}资金"
                                                   f"不能拨付给{PURPOSE_LABELS.get(purpose, purpose)}")])
    if amount_fen <= 0:
        raise ValidationFailed([FieldError("amount", "拨付金额须大于 0")])
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "须写明拨付理由")])
    if policy is not None:
        area, hh_id = county_code(actor, policy[1]), None
    else:
        area, hh_id = _target(session, actor, case_id=case_id, household_id=household_id)
    check_need(session, need_id=need_id, household_id=hh_id)
    county = county_of(area)
    _, bal = pool_balance(session, county=county, pool=pool)
    waiting = pending_fen(session, county=county, pool=pool)
    if amount_fen > bal - waiting:
        raise Conflict(f"{PURPOSE_LABELS.get(pool, pool)}资金余额 {yuan(bal)} 元，其中待审批 {yuan(waiting)} 元，"
                       f"可用 {yuan(bal - waiting)} 元，不足拨付 {yuan(amount_fen)} 元")
    g = Grant(area_code=area, need_id=need_id, case_id=case_id, household_id=hh_id,
              policy_id=policy[0] if policy else None, amount_fen=amount_fen, purpose=purpose, pool=pool,
              reason=reason.strip()[:300], made_by=actor.user_id, made_by_name=actor.username)
    add_unique(session, g, message="该保单的保费已提交拨付")
    audit.record(session, actor=actor, action="fund.grant", object_type="fund_grant", object_id=g.id, area_code=area,
                 after={"amount": yuan(amount_fen), "purpose": purpose, "pool": pool, "need_id": need_id,
                        "case_id": case_id, "household_id": hh_id, "policy_id": g.policy_id})
    return g


def get_grant(session: Session, *, actor: Actor, grant_id: int) -> Grant:
    """A grant in the actor's area."""
    return get_in_area(session, Grant, grant_id, actor=actor, action="fund.read", label="拨付")


def decide_grant(session: Session, *, actor: Actor, grant_id: int, version: int | None, approve: bool, today: date,
                 note: str = "") -> Grant:
    """Approve (posting the money out of its pool) or reject a pending grant; never the maker's own."""
    actor.require("fund.approve")
    g = get_in_area(session, Grant, grant_id, actor=actor, action=None, label="拨付")
    if (g.made_by == actor.user_id) if g.made_by is not None else g.made_by_name == actor.username:
        raise PermissionDenied("不能审批本人提交的拨付（制单与审批须由不同人员办理）")
    claim(session, g, version, label="该拨付")
    if g.status != GrantStatus.PENDING:
        raise Conflict(f"拨付 {g.id} 已审批过")
    if not approve and not note.strip():
        raise ValidationFailed([FieldError("note", "不予批准须写明理由")])
    before = {"status": g.status}
    on = today
    if approve:
        m = _post(session, county=county_of(g.area_code), pool=g.pool, kind=MovementKind.GRANT, purpose=g.purpose,
                  delta=-g.amount_fen, on=on, grant_id=g.id)
        if g.policy_id is not None:
            _policy_paid(session, actor=actor, policy_id=g.policy_id, grant_id=g.id)
    g.status = GrantStatus.APPROVED if approve else GrantStatus.REJECTED
    g.decided_by, g.decided_by_name, g.decided_at = actor.user_id, actor.username, clock.now()
    g.decision_note = note.strip()[:300]
    session.flush()
    audit.record(session, actor=actor, action="fund.approve" if approve else "fund.reject", object_type="fund_grant",
                 object_id=g.id, area_code=g.area_code, before=before, after={
                     "status": g.status, **({"balance": yuan(m.balance_fen)} if approve else {})},
                 extra={"note": g.decision_note} if g.decision_note else None)
    return g


def _policy_paid(session: Session, *, actor: Actor, policy_id: int, grant_id: int) -> None:
    """A policy's premium grant was approved: the policy is paid (part of the approval's transaction)."""
    p = session.get(Policy, policy_id)
    if p is not None:
        claim(session, p, label="该保单")
        p.status = PolicyStatus.PAID
        audit.record(session, actor=actor, action="fund.policy_paid", object_type="insurance_policy",
                     object_id=p.id, area_code=p.area_code, before={"status": "draft"},
                     after={"status": "paid", "grant_id": grant_id})


@dataclass(frozen=True)
class Filter:
    """Filters shared by the ledgers: purpose, status, a month (first day) and free text."""

    purpose: str = ""
    status: str = ""
    month: date | None = None
    q: str = ""
    area: str = ""


def paged(session: Session, stmt: Select[Any], order: Any, page: int, per_page: int) -> Page:
    """One page of a ledger query and the number of rows it was cut from."""
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(order).limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, total)


def donations_query(actor: Actor, f: Filter) -> Select[Any]:
    """Donations in the actor's area with the filters."""
    actor.require("fund.read")
    stmt = in_area(select(Donation), Donation.area_code, actor)
    stmt = under(stmt, Donation.area_code, f.area)
    if f.purpose:
        stmt = stmt.where(Donation.purpose == f.purpose)
    if f.month:
        stmt = stmt.where(Donation.received_on >= f.month, Donation.received_on < next_month(f.month))
    if f.q:
        stmt = stmt.where(Donation.donor_name.contains(f.q) | (Donation.receipt_no == f.q))
    return stmt


def list_donations(session: Session, *, actor: Actor, f: Filter, page: int = 1, per_page: int = 20) -> Page:
    """One page of donations, newest first."""
    return paged(session, donations_query(actor, f), Donation.id.desc(), page, per_page)


def grants_query(actor: Actor, f: Filter) -> Select[Any]:
    """Grants in the actor's area with the filters."""
    actor.require("fund.read")
    stmt = in_area(select(Grant), Grant.area_code, actor)
    stmt = under(stmt, Grant.area_code, f.area)
    if f.purpose:
        stmt = stmt.where(Grant.purpose == f.purpose)
    if f.status:
        stmt = stmt.where(Grant.status == f.status)
    if f.month:
        end = next_month(f.month)
        stmt = stmt.where(Grant.created_at >= datetime(f.month.year, f.month.month, 1),
                          Grant.created_at < datetime(end.year, end.month, 1))
    if f.q:
        stmt = stmt.where(Grant.reason.contains(f.q))
    return stmt


def list_grants(session: Session, *, actor: Actor, f: Filter, page: int = 1, per_page: int = 20) -> Page:
    """One page of grants, newest first."""
    return paged(session, grants_query(actor, f), Grant.id.desc(), page, per_page)


def movements_query(actor: Actor, f: Filter) -> Select[Any]:
    """Movements in the actor's area with the filters (the pool is the purpose filter here)."""
    actor.require("fund.read")
    stmt = in_area(select(Movement), Movement.area_code, actor)
    stmt = under(stmt, Movement.area_code, f.area)
    if f.purpose:
        stmt = stmt.where(Movement.pool == f.purpose)
    if f.status:
        stmt = stmt.where(Movement.kind == f.status)
    if f.month:
        stmt = stmt.where(Movement.month == f.month)
    return stmt


def list_movements(session: Session, *, actor: Actor, f: Filter, page: int = 1, per_page: int = 20) -> Page:
    """One page of the movement ledger, newest first."""
    return paged(session, movements_query(actor, f), Movement.id.desc(), page, per_page)


def ledger_problems(session: Session, *, county: str) -> list[str]:
    """Where a pool's stored running balance disagrees with the sum of its movements, or a number is missing
    (empty when the ledger balances)."""
    rows = session.execute(select(Movement.pool, Movement.seq, Movement.delta_fen, Movement.balance_fen).where(
        Movement.area_code == county).order_by(Movement.pool, Movement.seq))
    problems: list[str] = []
    running: dict[str, tuple[int, int]] = {}
    for pool, seq, delta, bal in rows:
        last_seq, last_bal = running.get(pool, (0, 0))
        if seq != last_seq + 1 or last_bal + delta != bal:
            problems.append(f"{pool} 第 {seq} 笔")
        running[pool] = (seq, last_bal + delta)
    return problems
