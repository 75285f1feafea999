"""Needs (救助需求) and their matching: raise, propose partners, confirm, the partner's answer and result, close;
every query scoped through auth.scope (a partner sees only needs sent to it, with valid consent), every change
claimed (optimistic lock) and audited. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import get_in_area, in_scope, under
from doudi.charity import consents, read, rules
from doudi.charity.labels import NEED_STATUS, OFFER
from doudi.charity.models import Consent, ConsentStatus, Match, MatchStatus, Need, NeedStatus
from doudi.charity.schemas import NeedCreate, NeedRead
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.core.masking import mask_id, mask_phone
from doudi.db.frames import write_frame
from doudi.db.versions import claim, stale_message
from doudi.policy.calendar import calendar_for
from doudi.policy.params import load_pack
from doudi.registry.models import Household

SHARED = (MatchStatus.CONFIRMED, MatchStatus.ACCEPTED, MatchStatus.DELIVERED)  # what a partner sees
FINAL = (NeedStatus.CLOSED, NeedStatus.EXPIRED)
UNMET = (NeedStatus.OPEN, NeedStatus.PROPOSED, NeedStatus.DECLINED, NeedStatus.ESCALATED, NeedStatus.EXPIRED)


@dataclass(frozen=True)
class Filters:
    """What the needs ledger filters on."""

    status: str = ""  # a status, 'unmet' for those still without a partner's help, '' for all
    kind: str = ""
    source: str = ""
    township: str = ""  # an area code (or prefix) inside the actor's scope
    q: str = ""  # a need or household number, or words of the description
    overdue: bool = False


def _base(actor: Actor) -> Select[Need]:
    """Needs in the actor's area; for a partner's staff, only those sent to it with the consent still valid."""
    stmt = in_scope(select(Need), actor, area=Need.area_code)
    if actor.org_scoped:
        sent = in_scope(select(Match.need_id), actor, org=(OrgKind.PARTNER, Match.partner_key)).where(
            Match.status.in_([str(s) for s in SHARED]))
        valid = select(Consent.id).where(Consent.status == ConsentStatus.VALID)
        stmt = stmt.where(Need.id.in_(sent), Need.consent_id.in_(valid))
    return stmt


def _query(actor: Actor, f: Filters, today: date) -> Select[Need]:
    stmt = _base(actor)
    if f.status == "unmet":
        stmt = stmt.where(Need.status.in_([str(s) for s in UNMET]))
    elif f.status:
        stmt = stmt.where(Need.status == f.status)
    if f.kind:
        stmt = stmt.where(Need.kind == f.kind)
    if f.source:
        stmt = stmt.where(Need.source == f.source)
    if f.township:
        stmt = under(stmt, Need.area_code, f.township)
    if f.overdue:
        stmt = stmt.where(Need.deadline < today, Need.status.not_in([str(s) for s in (*FINAL, NeedStatus.DELIVERED)]))
    q = f.q.strip()
    if q:
        number = int(q) if q.isdigit() and len(q) < 10 else -1
        stmt = stmt.where(or_(Need.id == number, Need.household_id == number, Need.description.like(f"%{q}%")))
    return stmt


def list_needs(session: Session, *, actor: Actor, filters: Filters, today: date, page: int = 1,
               per_page: int = 50) -> tuple[list[Need], int]:
    """One page of the ledger (nearest deadline first, finished needs last) and the total matching."""
    actor.require("charity.read")
    stmt = _query(actor, filters, today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Need.status.in_([str(s) for s in (*FINAL, NeedStatus.DELIVERED)]),
                                         Need.deadline, Need.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def all_needs(session: Session, *, actor: Actor, filters: Filters, today: date) -> list[Need]:
    """Every need matching (for exports)."""
    actor.require("charity.export")
    return list(session.scalars(_query(actor, filters, today).order_by(Need.id)))


def get_need(session: Session, *, actor: Actor, need_id: int) -> Need:
    """One need in the actor's scope (NotFound outside it: a partner sees only needs sent to it)."""
    actor.require("charity.read")
    need = session.scalar(_base(actor).where(Need.id == need_id))
    if need is None:
        raise NotFound(f"救助需求 {need_id}")
    return need


def shown(need: Need, contact: dict[str, object] | None) -> NeedRead:
    """A need with its household's contact, ID number and phone masked, disability shown only as masked."""
    c = contact or {}
    return NeedRead(id=need.id, household_id=need.household_id, area_code=need.area_code, source=need.source,
                    kind=need.kind, amount_fen=need.amount_fen, size=need.size, description=need.description,
                    deadline=need.deadline, status=need.status, partner_key=need.partner_key,
                    consent_id=need.consent_id, result=need.result, delivered_fen=need.delivered_fen,
                    version=need.version, head_name=str(c.get("name", "")),
                    id_number=mask_id(str(c.get("id_number", ""))) if c.get("id_number") else "",
                    phone=mask_phone(str(c.get("phone", ""))) if c.get("phone") else "",
                    disability="***" if c.get("disabled") else "")


def shown_all(session: Session, needs: list[Need]) -> list[NeedRead]:
    """Needs as shown, their households' contacts read at once."""
    found = read.contacts(session, sorted({n.household_id for n in needs}))
    return [shown(n, found.get(n.household_id)) for n in needs]


def _audit(session: Session, actor: Actor, need: Need, action: str, before: dict[str, Any],
           **extra: Any) -> None:
    audit.record(session, actor=actor, action=f"charity.{action}", object_type="charity_need", object_id=need.id,
                 area_code=need.area_code, before=before,
                 after={"status": need.status, "partner": need.partner_key, **extra})


def raise_need(session: Session, *, actor: Actor, data: NeedCreate, today: date) -> Need:
    """Record a need for a household in the actor's area; the household's valid consent for its kind, if any,
    is attached (sharing it later needs one)."""
    actor.require("charity.manage")
    hh = get_in_area(session, Household, data.household_id, actor=actor, action=None, label="家庭")
    errors = []
    if data.deadline < today:
        errors.append(FieldError("deadline", f"办理期限 {data.deadline} 早于今天"))
    if data.amount_fen is None and not data.size.strip():
        errors.append(FieldError("amount_fen", "请填写所需金额或帮扶规模"))
    if data.kind == "cash" and not data.amount_fen:
        errors.append(FieldError("amount_fen", "资金救助须填写所需金额"))
    if errors:
        raise ValidationFailed(errors)
    consent = consents.valid(session, household_id=hh.id, purpose=data.kind)
    need = Need(household_id=hh.id, area_code=hh.area_code, source=data.source, source_id=data.source_id,
                kind=data.kind, amount_fen=data.amount_fen, size=data.size.strip(),
                description=data.description.strip(), deadline=data.deadline,
                consent_id=consent.id if consent else None, status=NeedStatus.OPEN, raised_on=today,
                raised_by=actor.username, version=1)
    session.add(need)
    session.flush()
    _audit(session, actor, need, "need_raise", {}, kind=need.kind, amount_fen=need.amount_fen)
    return need


def propose(session: Session, *, actor: Actor, today: date, area: str = "", need_ids: list[int] | None = None
            ) -> int:
    """Propose a partner for every need waiting in the area (or for `need_ids`), as one batch: capacity is
    taken as matches are proposed. Returns the number of needs proposed for."""
    actor.require("charity.manage")
    scope = area or ("" if actor.system else actor.area_code)
    if scope and not actor.sees(scope) and not actor.system:
        raise ValidationFailed([FieldError("area", f"区划 {scope} 不在您的辖区内")])
    needs = read.open_needs(session, area=scope, need_ids=need_ids)
    if needs.height == 0:
        return 0
    partners = read.partner_frame(session)
    done = read.tried(session, area=scope, need_ids=need_ids)
    proposals = rules.match(needs, partners, exclude=done)
    if proposals.height == 0:
        return 0
    rows = proposals.join(needs.select("need_id", "kind", "area_code"), on="need_id").select(
        "need_id", "partner_key", "area_code", "kind", "rank", status=pl.lit(str(MatchStatus.PROPOSED)),
        proposed_on=pl.lit(today), version=pl.lit(1, pl.Int64), reason=pl.lit(""))
    write_frame(session, Match, rows)
    ids = proposals["need_id"].to_list()
    moved = proposals.join(needs.select("need_id", "version"), on="need_id").select(
        id="need_id", version="version", status=pl.lit(str(NeedStatus.PROPOSED)))
    if write_frame(session, Need, moved, mode="update", match=["id"]).rows != moved.height:
        raise Conflict("匹配期间有需求被他人修改，本次推荐未保存，请重新匹配")
    session.expire_all()
    audit.record(session, actor=actor, action="charity.propose", object_type="charity_match_run",
                 object_id=len(ids), area_code=scope or None,
                 extra={"needs": needs.height, "proposed": len(ids), "partners": partners["partner_key"].n_unique()})
    return len(ids)


def matches_of(session: Session, *, actor: Actor, need: Need) -> list[Match]:
    """The proposals of a need the actor sees (a partner: only its own)."""
    stmt = in_scope(select(Match), actor, org=(OrgKind.PARTNER, Match.partner_key)).where(Match.need_id == need.id)
    return list(session.scalars(stmt.order_by(Match.id)))


def _match(session: Session, need: Need, match_id: int | None, status: MatchStatus) -> Match:
    stmt = select(Match).where(Match.need_id == need.id, Match.status == status)
    if match_id is not None:
        stmt = stmt.where(Match.id == match_id)
    m = session.scalar(stmt.order_by(Match.rank, Match.id))
    if m is None:
        raise Conflict(f"救助需求 {need.id} 没有可操作的{'推荐' if status == MatchStatus.PROPOSED else '推送'}"
                       "（可能已被他人处理），请刷新后重试")
    return m


def _state(need: Need, allowed: tuple[NeedStatus, ...], doing: str) -> None:
    if need.status not in allowed:
        raise Conflict(f"救助需求 {need.id} 当前为“{NEED_STATUS.get(need.status, need.status)}”，不能{doing}")


def confirm(session: Session, *, actor: Actor, need_id: int, version: int | None, match_id: int | None,
            today: date) -> tuple[Need, Match]:
    """The township confirms a proposal: the need is sent to the partner, which must answer within the pack's
    working days. Refused without the household's valid consent for the need's purpose."""
    actor.require("charity.manage")
    need = get_need(session, actor=actor, need_id=need_id)
    _state(need, (NeedStatus.PROPOSED,), "确认推送")
    consent = consents.require_valid(session, household_id=need.household_id, purpose=need.kind)
    m = _match(session, need, match_id, MatchStatus.PROPOSED)
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    claim(session, m, label="该推荐")
    days = int(load_pack(need.area_code[:6]).value("charity.partner.response_workdays", on=today))
    m.status = MatchStatus.CONFIRMED
    m.due_on = calendar_for(need.area_code[:6]).add_workdays(today, days)
    need.status = NeedStatus.MATCHED
    need.partner_key = m.partner_key
    need.consent_id = consent.id
    _audit(session, actor, need, "need_confirm", before, match=m.id, due_on=m.due_on.isoformat())
    return need, m


def reject(session: Session, *, actor: Actor, need_id: int, version: int | None, match_id: int | None,
           reason: str) -> Need:
    """The township turns a proposal down (with a reason): the need waits for another partner."""
    actor.require("charity.manage")
    need = get_need(session, actor=actor, need_id=need_id)
    _state(need, (NeedStatus.PROPOSED,), "退回推荐")
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "退回推荐须填写理由")])
    m = _match(session, need, match_id, MatchStatus.PROPOSED)
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    claim(session, m, label="该推荐")
    m.status = MatchStatus.WITHDRAWN
    m.reason = reason.strip()
    need.status = NeedStatus.OPEN
    _audit(session, actor, need, "need_reject", before, match=m.id, reason=m.reason)
    return need


def _partner_match(session: Session, actor: Actor, need_id: int, status: MatchStatus, version: int | None
                   ) -> tuple[Need, Match]:
    """The need and the actor's own match in `status`: a partner acting outside what was sent to it is refused
    as if the need did not exist; a repeat of an answer already given is a stale version."""
    actor.require("charity.respond")
    need = get_need(session, actor=actor, need_id=need_id)
    if version is not None and version != need.version:
        raise Conflict(stale_message(version, need.version, "该需求"))
    if not actor.org_scoped and not actor.system:
        raise ValidationFailed([FieldError("actor", "承接、婉拒和登记帮扶结果须由合作机构账户办理")])
    stmt = in_scope(select(Match), actor, org=(OrgKind.PARTNER, Match.partner_key)).where(
        Match.need_id == need.id, Match.status == status)
    m = session.scalar(stmt)
    if m is None:
        raise NotFound(f"推送给本机构的救助需求 {need_id}")
    return need, m


def accept(session: Session, *, actor: Actor, need_id: int, version: int | None, today: date) -> tuple[Need, Match]:
    """The partner takes the need on."""
    need, m = _partner_match(session, actor, need_id, MatchStatus.CONFIRMED, version)
    _state(need, (NeedStatus.MATCHED, NeedStatus.ESCALATED), "承接")
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    claim(session, m, label="该推送")
    m.status = MatchStatus.ACCEPTED
    m.answered_on = today
    need.status = NeedStatus.ACCEPTED
    _audit(session, actor, need, "need_accept", before, match=m.id)
    return need, m


def decline(session: Session, *, actor: Actor, need_id: int, version: int | None, reason: str, today: date
            ) -> tuple[Need, Match]:
    """The partner declines, with a reason; the township looks for another partner."""
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "婉拒须填写理由")])
    need, m = _partner_match(session, actor, need_id, MatchStatus.CONFIRMED, version)
    _state(need, (NeedStatus.MATCHED, NeedStatus.ESCALATED), "婉拒")
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    claim(session, m, label="该推送")
    m.status = MatchStatus.DECLINED
    m.answered_on = today
    m.reason = reason.strip()
    need.status = NeedStatus.DECLINED
    need.partner_key = None
    _audit(session, actor, need, "need_decline", before, match=m.id, reason=m.reason)
    return need, m


def deliver(session: Session, *, actor: Actor, need_id: int, version: int | None, result: str,
            delivered_fen: int | None, today: date) -> tuple[Need, Match]:
    """The partner records what it delivered (amount in fen for money) and the result."""
    if not result.strip():
        raise ValidationFailed([FieldError("reason", "请填写帮扶结果")])
    need, m = _partner_match(session, actor, need_id, MatchStatus.ACCEPTED, version)
    _state(need, (NeedStatus.ACCEPTED, NeedStatus.ESCALATED), "登记帮扶结果")
    if need.kind == "cash" and not delivered_fen:
        raise ValidationFailed([FieldError("delivered_fen", "资金救助须填写实际发放金额")])
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    claim(session, m, label="该推送")
    m.status = MatchStatus.DELIVERED
    need.status = NeedStatus.DELIVERED
    need.result = result.strip()
    need.delivered_fen = delivered_fen
    need.delivered_on = today
    _audit(session, actor, need, "need_deliver", before, match=m.id, delivered_fen=delivered_fen)
    return need, m


def close(session: Session, *, actor: Actor, need_id: int, version: int | None, reason: str, today: date) -> Need:
    """The township closes a need (after delivery, or met otherwise), with a reason; live proposals end."""
    actor.require("charity.manage")
    need = get_need(session, actor=actor, need_id=need_id)
    _state(need, tuple(s for s in NeedStatus if s not in FINAL), "办结")
    if not reason.strip() and need.status != NeedStatus.DELIVERED:
        raise ValidationFailed([FieldError("reason", "未帮扶即办结须填写理由")])
    before = {"status": need.status}
    claim(session, need, version, label="该需求")
    session.execute(update(Match).where(Match.need_id == need.id, Match.status.in_([str(s) for s in read.LIVE]))
                    .values(status=MatchStatus.WITHDRAWN, reason="需求已办结", version=Match.version + 1)
                    .execution_options(synchronize_session=False))
    need.status = NeedStatus.CLOSED
    need.closed_on = today
    if reason.strip():
        need.result = (need.result + "\n" if need.result else "") + reason.strip()
    _audit(session, actor, need, "need_close", before, reason=reason.strip())
    return need


def alternatives(session: Session, *, need: Need, limit: int = 5) -> pl.DataFrame:
    """Partners that could take this need now, ranked as matching ranks them (for the detail page)."""
    needs = pl.DataFrame([{"need_id": need.id, "kind": need.kind, "area_code": need.area_code,
                           "deadline": need.deadline}], schema=rules.NEEDS)
    done = read.tried(session, area="", need_ids=[need.id])
    return rules.candidates(needs, read.partner_frame(session), depth=limit, exclude=done)


def stats(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Dashboard figures: needs raised, matched and met by kind and by township; partners' response rates."""
    actor.require("charity.read")
    rows = session.execute(_base(actor).with_only_columns(Need.kind, Need.area_code, Need.status)).all()
    matched = {str(s) for s in (NeedStatus.MATCHED, NeedStatus.ACCEPTED, NeedStatus.DELIVERED, NeedStatus.CLOSED)}
    met = {str(NeedStatus.DELIVERED)}
    by_kind: dict[str, list[int]] = {k: [0, 0, 0] for k in OFFER}
    by_town: dict[str, list[int]] = {}
    for kind, area, status in rows:
        delivered = status in met or (status == NeedStatus.CLOSED)
        for bucket in (by_kind.setdefault(kind, [0, 0, 0]), by_town.setdefault(area[:9], [0, 0, 0])):
            bucket[0] += 1
            bucket[1] += int(status in matched)
            bucket[2] += int(delivered)
    answers = session.execute(
        in_scope(select(Match.partner_key, Match.status, func.count()), actor, area=Match.area_code,
                 org=(OrgKind.PARTNER, Match.partner_key))
        .where(Match.status.in_([str(s) for s in read.ANSWERED])).group_by(Match.partner_key, Match.status)).all()
    rates: dict[str, list[int]] = {}
    for key, status, n in answers:
        r = rates.setdefault(key, [0, 0])
        r[1] += n
        r[0] += n if status in (MatchStatus.ACCEPTED, MatchStatus.DELIVERED) else 0
    return {"by_kind": by_kind, "by_township": by_town,
            "response": {k: (took, answered) for k, (took, answered) in sorted(rates.items())}}


def for_household(session: Session, *, actor: Actor, household_id: int) -> list[Need]:
    """A household's needs the actor sees, oldest first (its part of the assistance chain)."""
    if not actor.can("charity.read"):
        return []
    return list(session.scalars(_base(actor).where(Need.household_id == household_id).order_by(Need.id)))


def matches_in(session: Session, *, actor: Actor, need_ids: list[int]) -> list[Match]:
    """The matches of these needs the actor sees (a partner: only its own)."""
    if not need_ids:
        return []
    stmt = in_scope(select(Match), actor, org=(OrgKind.PARTNER, Match.partner_key)).where(
        Match.need_id.in_(need_ids))
    return list(session.scalars(stmt.order_by(Match.id)))
