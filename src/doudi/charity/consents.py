"""Household consents to share a need with partners (PIPL 第二十九条: separate, written consent for sensitive
data): a signed form uploaded by staff, or the citizen's own confirmation in the portal; recorded per purpose,
withdrawable, every change audited. Never commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_scope
from doudi.cases.documents import MAX_BYTES, sniff
from doudi.charity.labels import OFFER
from doudi.charity.models import Consent, ConsentMethod, ConsentStatus
from doudi.core import storage
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import claim
from doudi.registry.models import Household


def _purpose(purpose: str) -> None:
    if purpose not in OFFER:
        raise ValidationFailed([FieldError("purpose", f"未知用途 {purpose!r}；可选：{'、'.join(OFFER.values())}")])


def _audit(session: Session, actor: Actor, c: Consent, action: str) -> None:
    audit.record(session, actor=actor, action=f"charity.consent_{action}", object_type="charity_consent",
                 object_id=c.id, area_code=c.area_code,
                 after={"household_id": c.household_id, "purpose": c.purpose, "method": c.method,
                        "status": c.status, "sha256": c.file_sha256})


def record_form(session: Session, *, actor: Actor, household_id: int, purpose: str, signed_by: str, given_on: date,
                filename: str, data: bytes) -> Consent:
    """A signed consent form (PDF or image) uploaded by staff for a household in their area."""
    actor.require("charity.consent")
    hh = get_in_area(session, Household, household_id, actor=actor, action=None, label="家庭")
    _purpose(purpose)
    errors = []
    if not signed_by.strip():
        errors.append(FieldError("signed_by", "请填写签字人"))
    if not data:
        errors.append(FieldError("file", "请上传签字的同意书（PDF 或图片）"))
    elif len(data) > MAX_BYTES:
        errors.append(FieldError("file", f"文件超过 {MAX_BYTES // 1024 // 1024} MB"))
    if errors:
        raise ValidationFailed(errors)
    _, suffix = sniff(data)
    rel, digest = storage.save(data, suffix=suffix)
    c = Consent(household_id=hh.id, area_code=hh.area_code, purpose=purpose, method=ConsentMethod.FORM,
                status=ConsentStatus.VALID, signed_by=signed_by.strip()[:64], given_on=given_on, file_path=rel,
                file_sha256=digest, filename=filename[:255], recorded_by=actor.username, version=1)
    session.add(c)
    session.flush()
    _audit(session, actor, c, "record")
    return c


def record_portal(session: Session, *, actor: Actor, household: Household, purpose: str, signed_by: str,
                  today: date) -> Consent:
    """The citizen's own confirmation in the portal (the caller has checked the household is theirs)."""
    _purpose(purpose)
    c = Consent(household_id=household.id, area_code=household.area_code, purpose=purpose,
                method=ConsentMethod.PORTAL, status=ConsentStatus.VALID, signed_by=signed_by[:64], given_on=today,
                recorded_by=actor.username, version=1)
    session.add(c)
    session.flush()
    _audit(session, actor, c, "record")
    return c


def withdraw(session: Session, *, actor: Actor, consent: Consent, version: int | None, reason: str, today: date
             ) -> Consent:
    """Withdraw a consent: no need of its purpose is shared from now on (the caller has checked access)."""
    if consent.status == ConsentStatus.WITHDRAWN:
        raise Conflict(f"同意书 {consent.id} 已撤回")
    claim(session, consent, version, label="该同意书")
    consent.status = ConsentStatus.WITHDRAWN
    consent.withdrawn_on = today
    consent.withdrawn_reason = reason.strip() or "本人撤回"
    _audit(session, actor, consent, "withdraw")
    return consent


def get(session: Session, *, actor: Actor, consent_id: int) -> Consent:
    """One consent in the actor's area."""
    return get_in_area(session, Consent, consent_id, actor=actor, action="charity.read", label="同意书")


def for_household(session: Session, *, actor: Actor | None, household_id: int) -> list[Consent]:
    """A household's consents, newest first (None: the citizen's own, checked by the caller)."""
    stmt = select(Consent).where(Consent.household_id == household_id)
    if actor is not None:
        actor.require("charity.read")
        stmt = in_scope(stmt, actor, area=Consent.area_code)
    return list(session.scalars(stmt.order_by(Consent.id.desc())))


def valid(session: Session, *, household_id: int, purpose: str) -> Consent | None:
    """The household's latest valid consent for the purpose, if any."""
    return session.scalar(select(Consent).where(Consent.household_id == household_id, Consent.purpose == purpose,
                                                Consent.status == ConsentStatus.VALID).order_by(Consent.id.desc()))


def require_valid(session: Session, *, household_id: int, purpose: str) -> Consent:
    """The valid consent a share needs, or a clear refusal naming what is missing."""
    c = valid(session, household_id=household_id, purpose=purpose)
    if c is None:
        raise ValidationFailed([FieldError(
            "consent", f"该家庭没有“{OFFER.get(purpose, purpose)}”用途的有效书面同意（个人信息保护法第二十九条），"
                       "不能向合作机构推送：请先上传签字的同意书或请本人在群众端确认")])
    return c


def not_found(consent_id: int) -> NotFound:
    """The error for a consent outside the caller's reach."""
    return NotFound(f"同意书 {consent_id}")
