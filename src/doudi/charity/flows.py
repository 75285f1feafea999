"""Coordination of charity with monitoring: a warning becomes a need, and a need raised from a warning reaches its
partner as a monitoring referral (target_kind 'partner'), acknowledged when the partner accepts and answered
with the result it records (on the partner's behalf: its role answers through the need, still only its own
referrals). Never commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf
from doudi.charity import service
from doudi.charity.labels import OFFER
from doudi.charity.models import Need, NeedSource
from doudi.charity.schemas import NeedCreate
from doudi.core.errors import FieldError, ValidationFailed
from doudi.monitoring import referrals
from doudi.monitoring import service as monitoring
from doudi.monitoring.models import TargetKind


def need_from_warning(session: Session, *, actor: Actor, warning_id: int, kind: str, amount_fen: int | None,
                      size: str, deadline: date, today: date) -> Need:
    """Raise a need for the household of a warning (or a discovery lead), the warning's reason as description."""
    w = monitoring.get_warning(session, actor=actor, warning_id=warning_id)
    if w.household_id is None:
        raise ValidationFailed([FieldError("household_id", "该预警对象尚未登记家庭，不能登记慈善衔接需求")])
    source = NeedSource.LEAD if w.discovery else NeedSource.WARNING
    data = NeedCreate(household_id=w.household_id, source=source, source_id=w.id, kind=kind,
                      amount_fen=amount_fen, size=size, description=f"监测预警 {w.id}：{w.reason}"[:2000],
                      deadline=deadline)
    return service.raise_need(session, actor=actor, data=data, today=today)


def confirm(session: Session, *, actor: Actor, need_id: int, version: int | None, match_id: int | None,
            today: date) -> Need:
    """Confirm a proposal; a need from a warning is also referred to the partner through monitoring."""
    need, match = service.confirm(session, actor=actor, need_id=need_id, version=version, match_id=match_id,
                                  today=today)
    if need.source in (NeedSource.WARNING, NeedSource.LEAD) and need.source_id is not None:
        w = monitoring.get_warning(session, actor=on_behalf(actor), warning_id=need.source_id)
        r = referrals.create(session, actor=on_behalf(actor), warning=w, target_kind=TargetKind.PARTNER,
                             target_key=match.partner_key,
                             purpose=f"慈善衔接：{OFFER.get(need.kind, need.kind)}（需求 {need.id}）", today=today)
        r.due_on = match.due_on or r.due_on
        need.referral_id = r.id
    return need


def accept(session: Session, *, actor: Actor, need_id: int, version: int | None, today: date) -> Need:
    """The partner accepts; its referral, if any, is acknowledged."""
    need, _ = service.accept(session, actor=actor, need_id=need_id, version=version, today=today)
    if need.referral_id is not None:
        referrals.answer(session, actor=on_behalf(actor), referral_id=need.referral_id, version=None,
                         acknowledge_only=True,
                         result="", today=today)
    return need


def decline(session: Session, *, actor: Actor, need_id: int, version: int | None, reason: str, today: date) -> Need:
    """The partner declines; its referral, if any, is answered with the reason."""
    referral = service.get_need(session, actor=actor, need_id=need_id).referral_id
    need, _ = service.decline(session, actor=actor, need_id=need_id, version=version, reason=reason, today=today)
    if referral is not None:
        referrals.answer(session, actor=on_behalf(actor), referral_id=referral, version=None, acknowledge_only=False,
                         result=f"婉拒：{reason.strip()}", today=today)
        need.referral_id = None
    return need


def deliver(session: Session, *, actor: Actor, need_id: int, version: int | None, result: str,
            delivered_fen: int | None, today: date) -> Need:
    """The partner records its help; its referral, if any, is answered with the result."""
    need, _ = service.deliver(session, actor=actor, need_id=need_id, version=version, result=result,
                              delivered_fen=delivered_fen, today=today)
    if need.referral_id is not None:
        referrals.answer(session, actor=on_behalf(actor), referral_id=need.referral_id, version=None,
                         acknowledge_only=False,
                         result=need.result, today=today)
    return need


def act(session: Session, *, actor: Actor, need_id: int, action: str, version: int | None, match_id: int | None,
        reason: str, delivered_fen: int | None, today: date) -> Need:
    """One action on a need by name (pages, API and CLI share it)."""
    if action == "propose":
        service.propose(session, actor=actor, today=today, need_ids=[need_id])
        return service.get_need(session, actor=actor, need_id=need_id)
    if action == "confirm":
        return confirm(session, actor=actor, need_id=need_id, version=version, match_id=match_id, today=today)
    if action == "reject":
        return service.reject(session, actor=actor, need_id=need_id, version=version, match_id=match_id,
                              reason=reason)
    if action == "accept":
        return accept(session, actor=actor, need_id=need_id, version=version, today=today)
    if action == "decline":
        return decline(session, actor=actor, need_id=need_id, version=version, reason=reason, today=today)
    if action == "deliver":
        return deliver(session, actor=actor, need_id=need_id, version=version, result=reason,
                       delivered_fen=delivered_fen, today=today)
    if action == "close":
        return service.close(session, actor=actor, need_id=need_id, version=version, reason=reason, today=today)
    raise ValidationFailed([FieldError("action", f"未知操作 {action!r}")])
