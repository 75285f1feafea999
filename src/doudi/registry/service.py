"""Registry queries, scoped to the actor's area. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, lazyload

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area, under
from doudi.core.errors import FieldError, NotFound, ValidationFailed
from doudi.core.ids import IdNumberError, parse_id_number
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, LivingCondition, Membership, Person


@dataclass
class Page:
    """One page of a list, with what is needed to draw the pager."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


def scoped(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Limit a household query to the actor's area subtree."""
    return in_area(stmt, Household.area_code, actor)


@dataclass
class HouseholdFilter:
    """Search and filter criteria for the household list."""

    q: str = ""  # name, ID number or household number
    area_code: str = ""  # township or village within the actor's area
    hukou_type: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _search_clause(q: str) -> Any:
    q = q.strip()
    try:
        number = parse_id_number(q).number
    except IdNumberError:
        number = q.upper()
    member_match = (
        select(Membership.household_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.valid_to.is_(None))
        .where(or_(Person.name.startswith(q), Person.id_number == number))
    )
    return or_(Household.id.in_(member_match), Household.household_no == q)


def list_households(
    session: Session, *, actor: Actor, filters: HouseholdFilter, page: int = 1, per_page: int = 20,
    with_members: bool = True,
) -> Page:
    """A page of households within the actor's area, newest first, matching the filters; `with_members=False`
    for callers that show none of the members (their loading is most of the page's cost)."""
    actor.require("household.read")
    stmt = scoped(select(Household), actor)
    if not with_members:
        stmt = stmt.options(lazyload(Household.members))
    if filters.q:
        stmt = stmt.where(_search_clause(filters.q))
    if filters.area_code:
        stmt = under(stmt, Household.area_code, filters.area_code)
    if filters.hukou_type:
        stmt = stmt.where(Household.hukou_type == filters.hukou_type)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, page)
    rows = session.scalars(stmt.order_by(Household.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows), int(total), page, per_page)


def get_household(session: Session, *, actor: Actor, household_id: int, with_members: bool = True,
                  lock: bool = False) -> Household:
    """One household, or NotFound when it does not exist or lies outside the actor's area; `with_members=False`
    loads the members only if they are read; `lock` reads it with its row locked (see `get_in_area`)."""
    options = () if with_members else (lazyload(Household.members),)
    return get_in_area(session, Household, household_id, actor=actor, action="household.read", label="household",
                       options=options, lock=lock)


def current_members(household: Household) -> list[Membership]:
    """Memberships that are still valid, head first."""
    members = [m for m in household.members if m.valid_to is None]
    return sorted(members, key=lambda m: (m.relation != "head", m.id))


@dataclass
class FactSheet:
    """All facts recorded for a household, newest first, each with its source."""

    income: list[IncomeFact]
    assets: list[AssetFact]
    expenses: list[ExpenseFact]
    living: list[LivingCondition]


def facts_of(session: Session, *, household: Household, limit: int = 200) -> FactSheet:
    """The household's fact history (corrections included, so nothing disappears)."""

    def q(model: Any) -> list[Any]:
        stmt = (select(model).where(model.household_id == household.id)
                .order_by(model.period_start.desc(), model.id.desc()).limit(limit))
        return list(session.scalars(stmt))

    return FactSheet(q(IncomeFact), q(AssetFact), q(ExpenseFact), q(LivingCondition))


def unmask_person(session: Session, *, actor: Actor, household: Household, person: Person, reason: str) -> str:
    """Reveal one person's full ID number for a stated reason; the reveal itself is audited."""
    actor.require("household.unmask")
    if not actor.sees(household.area_code):
        raise NotFound("person")
    if len(reason.strip()) < 2:
        raise ValidationFailed([FieldError("reason", "查看完整身份证号须说明用途")])
    audit.record(session, actor=actor, action="person.unmask", object_type="person", object_id=person.id,
                 area_code=household.area_code, extra={"reason": reason.strip()[:200]})
    return person.id_number
