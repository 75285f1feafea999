"""Scoping shared by every domain: area subtrees and organisations, one lookup and one set of query filters.

No code outside `auth` reads `actor.prefix` or compares area codes itself: it asks here. Area staff see
their area's subtree; a user who acts for an organisation (an agency liaison, a care provider, later a
charity partner) sees, inside that area, only what is addressed to that organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self, TypeVar

import polars as pl
from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import Session

from doudi.areas.codes import COUNTY_OR_ABOVE, Level, ancestors, level_of, scope_prefix
from doudi.auth.permissions import Actor, OrgKind
from doudi.core.errors import NotFound

T = TypeVar("T")


class Filterable(Protocol):
    """A statement that takes WHERE conditions (select, update, delete)."""

    def where(self, *whereclause: Any) -> Self:
        """The statement with more conditions."""
        ...


Q = TypeVar("Q", bound=Filterable)


def get_in_area(session: Session, model: type[T], object_id: int, *, actor: Actor, action: str | None,
                label: str = "", org: tuple[OrgKind, str] | None = None, options: Sequence[Any] = (),
                lock: bool = False) -> T:
    """The object if the actor may do `action` (None: the caller has checked) and it lies in the actor's area
    (and, with `org` = (kind, attribute), is addressed to the actor's organisation); otherwise PermissionDenied,
    or NotFound — an object outside the scope looks like one that does not exist. `lock`: read it with its row
    locked (PostgreSQL's FOR UPDATE), for a change that does not carry the version the user saw."""
    if action is not None:
        actor.require(action)
    # options: e.g. relationships the caller does not need
    obj = session.get(model, object_id, options=options, with_for_update=True if lock else None)
    if obj is None or not actor.sees(getattr(obj, "area_code", None)) or (
            org is not None and not actor.sees_org(org[0], getattr(obj, org[1], None))):
        raise NotFound(f"{label or model.__name__} {object_id}")
    return obj


def _after(prefix: str) -> str | None:
    """The smallest digit string above every code that starts with `prefix` (3707 → 3708, 37079 → 3708); None
    when there is none (all nines)."""
    head = prefix.rstrip("9")
    return head[:-1] + str(int(head[-1]) + 1) if head else None


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`. A prefix of digits (every area code) is a range, which an ordinary index
    on the column serves under any collation; PostgreSQL serves LIKE 'prefix%' from one only under the C
    collation, so under C.UTF-8 each scoped query read the whole table."""
    if not prefix.isdigit():
        return column.startswith(prefix)  # type: ignore[no-any-return]
    upper = _after(prefix)
    return and_(column >= prefix, column < upper) if upper is not None else column >= prefix


def area_clause(column: Any, actor: Actor) -> ColumnElement[bool]:
    """A condition true for rows whose area column lies in the actor's area subtree (everything for the system)."""
    return starts_with(column, actor.prefix) if actor.prefix else true()


def outside_area(column: Any, actor: Actor) -> ColumnElement[bool]:
    """A condition true for rows outside the actor's area subtree (nothing for the system)."""
    return ~starts_with(column, actor.prefix) if actor.prefix else false()


def in_area(stmt: Q, column: Any, actor: Actor) -> Q:
    """Limit a query to rows whose area column lies in the actor's area subtree."""
    return stmt.where(starts_with(column, actor.prefix)) if actor.prefix else stmt


def covers_everything(actor: Actor) -> bool:
    """Whether the actor's jurisdiction is the whole installation (a system administrator, not a county's)."""
    return not actor.prefix


def subtree_prefix(area: str) -> str:
    """The code prefix of an area's subtree; a string that is not a division code is taken as a prefix itself."""
    try:
        return scope_prefix(area)
    except ValueError:
        return area


def under(stmt: Q, column: Any, area: str) -> Q:
    """Limit a query to an explicit area's subtree: an area code, or a code prefix, that the caller chose and
    checked (the CLI's --area, an area picked on a page); '' means everything."""
    return stmt.where(starts_with(column, subtree_prefix(area))) if area else stmt


def outside_area_expr(column: pl.Expr, actor: Actor) -> pl.Expr:
    """The frame form of `outside_area`: true for rows whose area lies outside the actor's subtree."""
    return ~column.str.starts_with(actor.prefix) if actor.prefix else pl.lit(False)


def in_subtree(code: str, area: str) -> bool:
    """True when `code` lies in the subtree of an area (or prefix) the caller chose; '' means everywhere."""
    return not area or code.startswith(subtree_prefix(area))


def actor_level(actor: Actor) -> Level:
    """The level the actor works at (the system works above every county)."""
    return Level.PROVINCE if actor.system else level_of(actor.area_code)


def county_or_above(actor: Actor) -> bool:
    """True for a user at county level or higher (and the system): who may act on a county-level step or approve
    above a township's limit."""
    return actor_level(actor) in COUNTY_OR_ABOVE


def org_clause(column: Any, actor: Actor, kind: OrgKind) -> ColumnElement[bool]:
    """A condition true for rows addressed to the actor's organisation (everything for area staff)."""
    if not actor.org_scoped:
        return true()
    if actor.org is None or actor.org_kind != kind:
        return false()  # an organisation role without its organisation recorded sees nothing addressed
    same: ColumnElement[bool] = column == actor.org
    return same


def in_org(stmt: Q, column: Any, actor: Actor, kind: OrgKind) -> Q:
    """Limit a query to rows addressed to the actor's organisation of `kind` (no limit for area staff)."""
    if not actor.org_scoped:
        return stmt
    return stmt.where(org_clause(column, actor, kind))


def in_scope(stmt: Q, actor: Actor, *, area: Any = None, org: tuple[OrgKind, Any] | None = None) -> Q:
    """Both limits at once: the area column in the actor's subtree and, with `org` = (kind, column), the
    organisation column the actor's own — what every list in a new domain should go through."""
    conditions = []
    if area is not None:
        conditions.append(area_clause(area, actor))
    if org is not None:
        conditions.append(org_clause(org[1], actor, org[0]))
    return stmt.where(and_(*conditions)) if conditions else stmt


def in_area_or_above(stmt: Q, column: Any, actor: Actor) -> Q:
    """Limit a query to rows in the actor's subtree or at an area enclosing the actor's (a county's payment
    roll is seen by its townships, which then see only their own lines on it)."""
    if not actor.prefix:
        return stmt
    return stmt.where(or_(starts_with(column, actor.prefix), column.in_(ancestors(actor.area_code))))
