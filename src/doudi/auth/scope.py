"""Area scoping shared by every domain: one lookup and one query filter, so no domain can forget either."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.core.errors import NotFound

T = TypeVar("T")


def get_in_area(session: Session, model: type[T], object_id: int, *, actor: Actor, action: str | None,
                label: str = "") -> T:
    """The object if the actor may do `action` (None: the caller has checked) and it lies in the actor's area;
    otherwise PermissionDenied, or NotFound — an object outside the area looks like one that does not exist."""
    if action is not None:
        actor.require(action)
    obj = session.get(model, object_id)
    if obj is None or not actor.sees(getattr(obj, "area_code", None)):
        raise NotFound(f"{label or model.__name__} {object_id}")
    return obj


def in_area(stmt: Any, column: Any, actor: Actor) -> Any:
    """Limit a query to rows whose area column lies in the actor's area subtree."""
    return stmt.where(column.startswith(actor.prefix)) if actor.prefix else stmt
