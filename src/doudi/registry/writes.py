"""Registry changes: create, correct, record facts, and undo. Every change is audited and revisioned."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.areas.codes import level_of
from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.core.ids import parse_id_number
from doudi.db.frames import read_frame_in
from doudi.db.versions import claim
from doudi.registry.models import (
    AssetFact,
    ExpenseFact,
    Household,
    IncomeFact,
    LivingCondition,
    Membership,
    Person,
    Revision,
)
from doudi.registry.schemas import FactCreate, HouseholdCreate, HouseholdUpdate, MemberCreate, PersonUpdate
from doudi.registry.service import get_household
from doudi.registry.vocab import Relation

HOUSEHOLD_FIELDS = ("address", "hukou_type", "area_code", "has_capable_supporter", "former_registered_poor")
PERSON_FIELDS = (
    "name", "phone", "disability_category", "disability_grade", "serious_illness", "self_care_unable_items",
    "labour_capacity", "student", "schooling_stage", "employment", "child_status", "date_of_death",
    "no_civil_capacity", "extreme_poverty_supported", "dibao_recipient", "support_mode",
    "supporters_elsewhere_able", "supporters_elsewhere_unable", "supporters_elsewhere_unverified",
)


def _snap(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def _plain(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v.value if hasattr(v, "value") else v


def _check_area(session: Session, actor: Actor, area_code: str) -> None:
    area = session.get(Area, area_code)
    if area is None or not actor.sees(area_code):
        raise ValidationFailed([FieldError("area_code", f"区划 {area_code} 不存在或不在您的辖区内")])
    if level_of(area_code) not in {"township", "village"}:
        raise ValidationFailed([FieldError("area_code", "家庭应登记到乡镇（街道）或村（居）")])


def _revision(session: Session, *, actor: Actor, obj_type: str, obj_id: int, household_id: int, action: str,
              before: dict[str, Any], after: dict[str, Any]) -> Revision:
    rev = Revision(object_type=obj_type, object_id=obj_id, household_id=household_id, action=action,
                   before=before, after=after, by_user=actor.user_id, by_name=actor.username)
    session.add(rev)
    session.flush()
    return rev


def _new_person(m: MemberCreate) -> Person:
    info = parse_id_number(m.id_number)
    attrs = {f: _plain(getattr(m, f)) for f in PERSON_FIELDS if f != "name" and getattr(m, f) is not None}
    if "date_of_death" in attrs:
        attrs["date_of_death"] = m.date_of_death
    return Person(id_number=info.number, name=m.name, sex=info.sex, birth_date=info.birth_date, version=1, **attrs)


def next_household_no(session: Session, *, area_code: str) -> str:
    """户编号 of a new household: the township's 9-digit code and the next 6-digit number within it (15 digits,
    the same shape as the numbers the demo county and imports carry). Two registrations racing for one number
    meet the unique key, and the second is refused as a conflict."""
    town = area_code[:9]
    # Numbers of one length sort as text in numeric order, so the largest is the last one given.
    last = session.scalar(select(func.max(Household.household_no)).where(
        Household.household_no.startswith(town), func.length(Household.household_no) == 15)) or ""
    serial = int(last[9:]) if last[9:].isdigit() else 0
    return f"{town}{serial + 1:06d}"


def create_household(session: Session, *, actor: Actor, data: HouseholdCreate,
                     members_since: date | None = None) -> Household:
    """Register a household and its members (living together since `members_since`, default today);
    a person already in another household is refused."""
    actor.require("household.create")
    _check_area(session, actor, data.area_code)
    number = data.household_no or next_household_no(session, area_code=data.area_code)
    if session.scalar(select(Household.id).where(Household.household_no == number)):
        raise ValidationFailed([FieldError("household_no", f"户编号 {number} 已存在")])
    errors = []
    existing = {p.id_number: p for p in session.scalars(
        select(Person).where(Person.id_number.in_([m.id_number for m in data.members])))}
    elsewhere: dict[int, list[str]] = {}
    for i, m in enumerate(data.members):
        p = existing.get(m.id_number)
        inside, outside = _current_areas(session, actor, p)
        if inside:
            errors.append(FieldError(f"members.{i}.id_number", "此人已是另一户的成员，请先办理迁出"))
        elif outside and p is not None:
            elsewhere[p.id] = outside
    if errors:
        raise ValidationFailed(errors)
    hh = Household(household_no=number, area_code=data.area_code, address=data.address,
                   hukou_type=data.hukou_type, version=1)
    session.add(hh)
    session.flush()
    for m in data.members:
        person = existing.get(m.id_number) or _new_person(m)
        session.add(person)
        session.flush()
        session.add(Membership(household_id=hh.id, person_id=person.id, relation=m.relation.value,
                               exclusion=m.exclusion, valid_from=members_since or clock.today()))
    session.flush()
    session.refresh(hh)
    after = {**_snap(hh, HOUSEHOLD_FIELDS), "household_no": number, "members": len(data.members)}
    _revision(session, actor=actor, obj_type="household", obj_id=hh.id, household_id=hh.id, action="create",
              before={}, after=after)
    audit.record(session, actor=actor, action="household.create", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, after=after)
    for person_id, areas in elsewhere.items():
        _flag_cross_area(session, actor, person_id, areas, hh)
    return hh


def _current_areas(session: Session, actor: Actor, person: Person | None) -> tuple[list[str], list[str]]:
    """Areas of the person's current households, split into those inside and outside the actor's area."""
    if person is None:
        return [], []
    areas = list(session.scalars(select(Household.area_code).join(Membership, Membership.household_id == Household.id)
                                 .where(Membership.person_id == person.id, Membership.valid_to.is_(None))))
    return [a for a in areas if actor.sees(a)], [a for a in areas if not actor.sees(a)]


def _flag_cross_area(session: Session, actor: Actor, person_id: int, areas: list[str], hh: Household) -> None:
    """A person registered here who is still a member of a household in another county. Refusing would tell
    the user that the ID is registered elsewhere (an oracle on other counties' registries), so the household
    is registered and the county holding the earlier record is told, in its own audit trail, to reconcile
    (迁出/重复登记核查)."""
    for area in areas:
        audit.record(session, actor=actor, action="registry.cross_area_member", object_type="person",
                     object_id=person_id, area_code=area,
                     extra={"registered_in": hh.area_code, "household_no": hh.household_no})


def update_household(session: Session, *, actor: Actor, household_id: int, data: HouseholdUpdate) -> Household:
    """Correct a household's attributes, refusing a stale version."""
    actor.require("household.update")
    hh = get_household(session, actor=actor, household_id=household_id)
    claim(session, hh, data.version, label="该家庭档案")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "area_code" in changes and changes["area_code"] is not None:
        _check_area(session, actor, changes["area_code"])
    before = _snap(hh, HOUSEHOLD_FIELDS)
    for k, v in changes.items():
        setattr(hh, k, v)
    session.flush()
    after = _snap(hh, HOUSEHOLD_FIELDS)
    _revision(session, actor=actor, obj_type="household", obj_id=hh.id, household_id=hh.id, action="update",
              before=before, after=after)
    audit.record(session, actor=actor, action="household.update", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, before=before, after=after)
    return hh


def _member(session: Session, actor: Actor, household_id: int, person_id: int) -> tuple[Household, Membership]:
    hh = get_household(session, actor=actor, household_id=household_id)
    m = next((m for m in hh.members if m.person_id == person_id and m.valid_to is None), None)
    if m is None:
        raise NotFound("member")
    return hh, m


def update_person(session: Session, *, actor: Actor, household_id: int, person_id: int, data: PersonUpdate) -> Person:
    """Correct a member's attributes (disability, illness, employment, death…), refusing a stale version."""
    actor.require("household.update")
    hh, m = _member(session, actor, household_id, person_id)
    person = m.person
    claim(session, person, data.version, label="该成员信息")
    before = _snap(person, PERSON_FIELDS)
    for k, v in data.model_dump(exclude_unset=True, exclude={"version"}).items():
        setattr(person, k, _plain(v) if k != "date_of_death" else v)
    session.flush()
    after = _snap(person, PERSON_FIELDS)
    _revision(session, actor=actor, obj_type="person", obj_id=person.id, household_id=hh.id, action="update",
              before=before, after=after)
    audit.record(session, actor=actor, action="person.update", object_type="person", object_id=person.id,
                 area_code=hh.area_code, before=before, after=after)
    return person


def end_membership(session: Session, *, actor: Actor, household_id: int, person_id: int, reason: str,
                   on: date | None = None, source: str = "") -> Membership:
    """A member leaves the household (moved, married out, died) on `on` (default today); the membership row is
    kept, closed. `source` names what reported it (an agency feed's batch and row), kept with the revision."""
    actor.require("household.update")
    hh, m = _member(session, actor, household_id, person_id)
    if m.relation == "head":
        raise ValidationFailed([FieldError("person_id", "户主不能直接移出，请先变更户主")])
    left = on or clock.today()
    if left < m.valid_from:
        raise ValidationFailed([FieldError("on", f"移出日期 {left} 早于入户日期 {m.valid_from}")])
    claim(session, hh, label="该家庭档案")  # membership changes move the household's version on
    m.valid_to = left
    session.flush()
    after = {"valid_to": left.isoformat(), "reason": reason, **({"source": source} if source else {})}
    _revision(session, actor=actor, obj_type="membership", obj_id=m.id, household_id=hh.id, action="end",
              before={"valid_to": None}, after=after)
    audit.record(session, actor=actor, action="household.member_end", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, extra={"person_id": person_id, **after})
    return m


def end_memberships(session: Session, *, actor: Actor, moves: pl.DataFrame, reason: str) -> pl.DataFrame:
    """End the current memberships of `moves` (household_id, person_id, on, source) through `end_membership`,
    each audited with its source; a head (the household must first name another) or a date before the membership
    began is left as it is. Returns the moves done."""
    actor.require("household.update")
    current = read_frame_in(session, select(Membership.household_id, Membership.person_id, Membership.relation,
                                            Membership.valid_from).where(Membership.valid_to.is_(None)),
                            Membership.person_id, moves["person_id"].unique().sort().to_list(),
                            schema={"household_id": pl.Int64, "person_id": pl.Int64, "relation": pl.Utf8,
                                    "valid_from": pl.Date})
    todo = (moves.join(current, on=["household_id", "person_id"])
            .filter((pl.col("relation") != "head") & (pl.col("on") >= pl.col("valid_from")))
            .sort("household_id", "person_id"))
    for r in todo.iter_rows(named=True):
        end_membership(session, actor=actor, household_id=r["household_id"], person_id=r["person_id"], reason=reason,
                       on=r["on"], source=r["source"])
    return todo.select("household_id", "person_id", "on", "source")


FACT_MODELS: dict[str, type[Any]] = {
    "income": IncomeFact, "asset": AssetFact, "expense": ExpenseFact, "living": LivingCondition,
}


def add_fact(session: Session, *, actor: Actor, household_id: int, data: FactCreate) -> Any:
    """Record a declared or investigated fact; a correction supersedes the old row, which is kept."""
    actor.require("household.update")
    try:
        data.check()
    except ValueError as exc:
        raise ValidationFailed([FieldError("fact", str(exc))]) from None
    # Locked as it is read: a fact carries no version the user saw, so two declared at once are both written,
    # one after the other, instead of the second being refused as a stale change.
    hh = get_household(session, actor=actor, household_id=household_id, with_members=False, lock=True)
    if data.person_id is not None and data.person_id not in {m.person_id for m in hh.members}:
        raise ValidationFailed([FieldError("person_id", "不是本户成员")])
    claim(session, hh, label="该家庭档案")  # a fact (or its correction) is part of the household's state
    model = FACT_MODELS[data.kind]
    common = dict(household_id=hh.id, source_kind=data.source_kind, period_start=data.period_start,
                  period_end=data.period_end, recorded_by=actor.user_id, note=data.note)
    if data.kind == "living":
        fact = model(kind=data.item, value=data.value, **common)
    elif data.kind == "asset":
        fact = model(kind=data.item, person_id=data.person_id, quantity=data.quantity,
                     value=data.amount or Decimal(0), description=data.note, **common)
    else:
        fact = model(kind=data.item, person_id=data.person_id, amount=data.amount, **common)
    session.add(fact)
    session.flush()
    if data.supersedes is not None:
        old = session.get(model, data.supersedes)
        if old is None or old.household_id != hh.id:
            raise ValidationFailed([FieldError("supersedes", "要更正的记录不存在")])
        if old.superseded_by is not None:
            raise Conflict("该记录已被更正过，请在最新记录上更正")
        old.superseded_by = fact.id
    audit.record(session, actor=actor, action=f"fact.{data.kind}.add", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, after={"item": data.item, "amount": str(data.amount or ""),
                                                "period": f"{data.period_start}~{data.period_end}",
                                                "supersedes": data.supersedes})
    return fact


def revisions(session: Session, *, actor: Actor, household_id: int, limit: int = 100) -> list[Revision]:
    """The household's change history, newest first."""
    hh = get_household(session, actor=actor, household_id=household_id)
    stmt = select(Revision).where(Revision.household_id == hh.id).order_by(Revision.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def revert(session: Session, *, actor: Actor, revision_id: int) -> Revision:
    """Undo one household or person update by restoring its before-values (itself a new, audited change)."""
    actor.require("household.update")
    rev = session.get(Revision, revision_id)
    if rev is None:
        raise NotFound("revision")
    hh = get_household(session, actor=actor, household_id=rev.household_id)
    if rev.action != "update" or rev.object_type not in {"household", "person"}:
        raise ValidationFailed([FieldError("revision", "只能撤销对家庭或成员信息的修改")])
    if rev.reverted_by is not None:
        raise Conflict("该修改已被撤销")
    target: Household | Person | None = hh if rev.object_type == "household" else session.get(Person, rev.object_id)
    if target is None:
        raise NotFound("person")
    fields = HOUSEHOLD_FIELDS if rev.object_type == "household" else PERSON_FIELDS
    current = _snap(target, fields)
    # Only undo if nothing changed since; otherwise the undo would silently discard a later edit.
    if any(current.get(k) != v for k, v in rev.after.items()):
        raise Conflict("此后该记录又有修改，不能直接撤销；请先撤销后来的修改")
    for k, v in rev.before.items():
        setattr(target, k, date.fromisoformat(str(v)) if (k == "date_of_death" and v) else v)
    session.flush()
    undo = _revision(session, actor=actor, obj_type=rev.object_type, obj_id=rev.object_id, household_id=hh.id,
                     action="revert", before=rev.after, after=rev.before)
    rev.reverted_by = undo.id
    audit.record(session, actor=actor, action=f"{rev.object_type}.revert", object_type=rev.object_type,
                 object_id=rev.object_id, area_code=hh.area_code, before=rev.after, after=rev.before,
                 extra={"revision": rev.id})
    return undo


def add_member(session: Session, *, actor: Actor, household_id: int, data: MemberCreate) -> Membership:
    """Add a member (birth, marriage, moving in); a person still in another household is refused."""
    actor.require("household.update")
    hh = get_household(session, actor=actor, household_id=household_id)
    if data.relation.value == "head":
        raise ValidationFailed([FieldError("relation", "本户已有户主")])
    claim(session, hh, label="该家庭档案")
    person = session.scalar(select(Person).where(Person.id_number == data.id_number))
    inside, outside = _current_areas(session, actor, person)
    if inside:
        raise ValidationFailed([FieldError("id_number", "此人已是某户的成员，请先办理迁出")])
    if person is None:
        person = _new_person(data)
        session.add(person)
        session.flush()
    m = Membership(household_id=hh.id, person_id=person.id, relation=data.relation.value, exclusion=data.exclusion,
                   valid_from=clock.today())
    session.add(m)
    session.flush()
    _revision(session, actor=actor, obj_type="membership", obj_id=m.id, household_id=hh.id, action="add",
              before={}, after={"person_id": person.id, "relation": m.relation})
    audit.record(session, actor=actor, action="household.member_add", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, extra={"person_id": person.id, "relation": m.relation})
    if outside:
        _flag_cross_area(session, actor, person.id, outside, hh)
    session.refresh(hh)
    return m


def change_head(session: Session, *, actor: Actor, household_id: int, person_id: int, old_head_relation: str) -> None:
    """Make another current member the head (户主变更); the former head takes the given relation."""
    actor.require("household.update")
    hh = get_household(session, actor=actor, household_id=household_id)
    claim(session, hh, label="该家庭档案")
    current = [m for m in hh.members if m.valid_to is None]
    new = next((m for m in current if m.person_id == person_id), None)
    old = next((m for m in current if m.relation == "head"), None)
    if new is None:
        raise NotFound("member")
    if old is None or new is old:
        raise ValidationFailed([FieldError("person_id", "该成员已是户主")])
    if old_head_relation == "head" or old_head_relation not in {r.value for r in _relations()}:
        raise ValidationFailed([FieldError("old_head_relation", "请选择原户主与新户主的关系")])
    before = {"head": old.person_id, "new_head_relation": new.relation}
    new.relation, old.relation = "head", old_head_relation
    session.flush()
    _revision(session, actor=actor, obj_type="membership", obj_id=new.id, household_id=hh.id, action="head",
              before=before, after={"head": new.person_id, "old_head_relation": old_head_relation})
    audit.record(session, actor=actor, action="household.head_change", object_type="household", object_id=hh.id,
                 area_code=hh.area_code, before=before, after={"head": new.person_id})


def _relations() -> list[Any]:

    return list(Relation)
