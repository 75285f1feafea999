"""Referrals (转办推送): a warning or household sent to an agency or a partner, with a deadline, acknowledgement
and result; the receiving agency's liaison sees only what is addressed to it. Charity builds on target_kind
'partner'. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import get_in_area, in_scope
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import claim
from doudi.monitoring.labels import AGENCIES
from doudi.monitoring.models import MonitorWarning, Referral, ReferralStatus, TargetKind
from doudi.policy.calendar import calendar_for
from doudi.policy.params import load_pack


def create(session: Session, *, actor: Actor, warning: MonitorWarning, target_kind: str, target_key: str,
           purpose: str, today: date) -> Referral:
    """Refer a warning's subject to an agency (by key) or a partner; due in the pack's working days."""
    if not actor.can("monitoring.dispose"):
        actor.require("referral.create")
    if target_kind not in {str(k) for k in TargetKind}:
        raise ValidationFailed([FieldError("target_kind", "受理方类型只能是部门（agency）或社会力量（partner）")])
    if target_kind == TargetKind.AGENCY and target_key not in AGENCIES:
        choices = "、".join(AGENCIES.values())
        raise ValidationFailed([FieldError("target_key", f"未知受理部门 {target_key!r}；可选：{choices}")])
    days = int(load_pack(warning.area_code or "000000").value("monitoring.referral.workdays", on=today))
    r = Referral(warning_id=warning.id, household_id=warning.household_id, person_id=warning.person_id,
                 area_code=warning.area_code, target_kind=target_kind, target_key=target_key, purpose=purpose,
                 status=ReferralStatus.SENT,
                 due_on=calendar_for(warning.area_code[:6] or None).add_workdays(today, days),
                 created_by=actor.user_id, version=1)
    session.add(r)
    session.flush()
    audit.record(session, actor=actor, action="referral.create", object_type="referral", object_id=r.id,
                 area_code=r.area_code, after={"target": target_key, "due_on": r.due_on.isoformat()})
    return r


def list_referrals(session: Session, *, actor: Actor, status: str = "", warning_id: int | None = None,
                   statuses: Sequence[ReferralStatus] = (), limit: int | None = None) -> list[Referral]:
    """Referrals in the actor's area (earliest due first, at most `limit`); an agency liaison sees only those
    addressed to its agency."""
    actor.require("referral.read")
    stmt = in_scope(select(Referral), actor, area=Referral.area_code,
                    org=(OrgKind.AGENCY, Referral.target_key) if actor.org_kind != OrgKind.PARTNER
                    else (OrgKind.PARTNER, Referral.target_key))
    if status:
        stmt = stmt.where(Referral.status == status)
    if statuses:
        stmt = stmt.where(Referral.status.in_(statuses))
    if warning_id is not None:
        stmt = stmt.where(Referral.warning_id == warning_id)
    return list(session.scalars(stmt.order_by(Referral.due_on, Referral.id).limit(limit)))


def get_referral(session: Session, *, actor: Actor, referral_id: int) -> Referral:
    """One referral in scope (NotFound otherwise)."""
    r = get_in_area(session, Referral, referral_id, actor=actor, action="referral.read", label="转办")
    kind = OrgKind.PARTNER if r.target_kind == TargetKind.PARTNER else OrgKind.AGENCY
    if not actor.sees_org(kind, r.target_key):
        raise NotFound(f"转办 {referral_id}")
    return r


def answer(session: Session, *, actor: Actor, referral_id: int, version: int | None, acknowledge_only: bool,
           result: str, today: date) -> Referral:
    """The receiving agency acknowledges, or records its result (办结)."""
    actor.require("referral.answer")
    r = get_referral(session, actor=actor, referral_id=referral_id)
    if r.status in (ReferralStatus.ANSWERED, ReferralStatus.WITHDRAWN):
        raise Conflict(f"转办 {r.id} 已办结或撤回")
    if not acknowledge_only and not result.strip():
        raise ValidationFailed([FieldError("result", "办结须填写办理结果")])
    before = {"status": r.status}
    claim(session, r, version, label="该转办")
    if r.acknowledged_on is None:
        r.acknowledged_on = today
        r.status = ReferralStatus.ACKNOWLEDGED
    if not acknowledge_only:
        r.status = ReferralStatus.ANSWERED
        r.answered_on = today
        r.result = result.strip()
    audit.record(session, actor=actor, action="referral.answer", object_type="referral", object_id=r.id,
                 area_code=r.area_code, before=before, after={"status": r.status, "result": r.result})
    return r
