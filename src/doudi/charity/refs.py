"""A need named by a grant or a support plan: it must exist and be the same household's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doudi.charity.models import Need
from doudi.core.errors import FieldError, ValidationFailed


def check_need(session: Session, *, need_id: int | None, household_id: int | None) -> None:
    """Refuse a need number that does not exist or belongs to another household."""
    if need_id is None:
        return
    need = session.get(Need, need_id)
    if need is None or (household_id is not None and need.household_id != household_id):
        raise ValidationFailed([FieldError("need_id", f"救助需求 {need_id} 不存在或不属于该家庭")])
