"""The partner register (社会力量名录): charities, social-work organisations, companies and community groups,
what each offers where, and its capacity; it is also the register partner accounts are checked against."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth import orgs
from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import in_area_or_above, in_scope
from doudi.charity.labels import OFFER
from doudi.charity.models import Partner
from doudi.charity.schemas import PartnerCreate
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import claim


def is_partner(session: Session, key: str) -> bool:
    """True when `key` is a registered partner (the check partner accounts' organisation passes)."""
    return session.scalar(select(Partner.id).where(Partner.key == key)) is not None


orgs.register_check(OrgKind.PARTNER, is_partner)


def _check(session: Session, data: PartnerCreate) -> None:
    errors = []
    if session.get(Area, data.area_code) is None:
        errors.append(FieldError("area_code", f"服务区域 {data.area_code} 不是已登记的区划"))
    extra = sorted(set(data.capacity) - set(data.offers))
    if extra:
        errors.append(FieldError("capacity", f"未提供的帮扶项目不能填承接能力：{'、'.join(OFFER[k] for k in extra)}"))
    if any(v < 0 for v in data.capacity.values()):
        errors.append(FieldError("capacity", "承接能力不能为负数"))
    if errors:
        raise ValidationFailed(errors)


def create(session: Session, *, actor: Actor, data: PartnerCreate) -> Partner:
    """Register a partner serving an area inside the actor's jurisdiction."""
    actor.require("charity.partners")
    _check(session, data)
    if not actor.sees(data.area_code):
        raise ValidationFailed([FieldError("area_code", f"服务区域 {data.area_code} 不在您的辖区内")])
    if is_partner(session, data.key):
        raise Conflict(f"机构代码 {data.key} 已登记")
    p = Partner(**data.model_dump(), version=1)
    p.capacity = {k: int(v) for k, v in data.capacity.items()}
    session.add(p)
    session.flush()
    audit.record(session, actor=actor, action="charity.partner_create", object_type="charity_partner",
                 object_id=p.id, area_code=p.area_code, after=data.model_dump())
    return p


def update(session: Session, *, actor: Actor, partner_id: int, version: int | None, data: PartnerCreate) -> Partner:
    """Change a partner's details, offers, capacity or active flag (its key stays)."""
    actor.require("charity.partners")
    p = get(session, actor=actor, partner_id=partner_id)
    if data.key != p.key:
        raise ValidationFailed([FieldError("key", "机构代码登记后不能修改")])
    _check(session, data)
    if not actor.sees(data.area_code):
        raise ValidationFailed([FieldError("area_code", f"服务区域 {data.area_code} 不在您的辖区内")])
    before = {"name": p.name, "offers": p.offers, "capacity": p.capacity, "active": p.active}
    claim(session, p, version, label="该机构")
    for field, value in data.model_dump(exclude={"key"}).items():
        setattr(p, field, value)
    audit.record(session, actor=actor, action="charity.partner_update", object_type="charity_partner",
                 object_id=p.id, area_code=p.area_code, before=before, after=data.model_dump())
    return p


def _visible(actor: Actor) -> Select[Partner]:
    """Partners serving inside the actor's area or an area enclosing it, and only its own for a partner's staff."""
    stmt = in_area_or_above(select(Partner), Partner.area_code, actor)
    return in_scope(stmt, actor, org=(OrgKind.PARTNER, Partner.key))


def list_partners(session: Session, *, actor: Actor, kind: str = "", offer: str = "", active_only: bool = False,
                  q: str = "") -> list[Partner]:
    """Partners serving the actor's area (or inside it); a partner's own staff see only their organisation."""
    actor.require("charity.read")
    stmt = _visible(actor)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(Partner.name.like(like) | Partner.key.like(like) | Partner.contact.like(like))
    if kind:
        stmt = stmt.where(Partner.kind == kind)
    if active_only:
        stmt = stmt.where(Partner.active.is_(True))
    rows = list(session.scalars(stmt.order_by(Partner.area_code, Partner.key)))
    return [p for p in rows if not offer or offer in (p.offers or [])]


def get(session: Session, *, actor: Actor, partner_id: int) -> Partner:
    """One partner the actor may see (NotFound otherwise)."""
    actor.require("charity.read")
    p = session.scalar(_visible(actor).where(Partner.id == partner_id))
    if p is None:
        raise NotFound(f"合作机构 {partner_id}")
    return p


def by_key(session: Session, key: str) -> Partner | None:
    """The partner of a key (the caller checks access)."""
    return session.scalar(select(Partner).where(Partner.key == key))


def names(session: Session, keys: set[str]) -> dict[str, str]:
    """Partner key → name."""
    if not keys:
        return {}
    return dict(session.execute(select(Partner.key, Partner.name).where(Partner.key.in_(sorted(keys)))).all())
