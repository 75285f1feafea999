"""Registry JSON API: scoped, paginated households."""

from __future__ import annotations

from fastapi import APIRouter, Query

from doudi.core.masking import mask_id
from doudi.deps import ApiActor, SessionDep
from doudi.registry import service
from doudi.registry.models import Household
from doudi.registry.schemas import HouseholdPage, HouseholdRead, MemberRead

router = APIRouter(tags=["registry"])


def to_read(hh: Household, *, with_members: bool) -> HouseholdRead:
    """Serialise a household for the API."""
    members = [
        MemberRead(person_id=m.person.id, name=m.person.name, relation=m.relation,
                   id_number_masked=mask_id(m.person.id_number), sex=m.person.sex,
                   birth_date=m.person.birth_date, counted=m.exclusion is None)
        for m in service.current_members(hh)
    ] if with_members else []
    return HouseholdRead(id=hh.id, household_no=hh.household_no, area_code=hh.area_code,
                         address=hh.address, hukou_type=hh.hukou_type, members=members)


@router.get("/households", response_model=HouseholdPage)
def list_households(
    actor: ApiActor,
    session: SessionDep,
    q: str = "",
    area_code: str = "",
    hukou_type: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=200),
) -> HouseholdPage:
    """Households in the caller's area, searchable by name, ID or household number."""
    result = service.list_households(
        session, actor=actor, filters=service.HouseholdFilter(q=q, area_code=area_code, hukou_type=hukou_type),
        page=page, per_page=per_page,
    )
    return HouseholdPage(items=[to_read(h, with_members=False) for h in result.items], total=result.total,
                         page=result.page, per_page=result.per_page, pages=result.pages)


@router.get("/households/{household_id}", response_model=HouseholdRead)
def get_household(household_id: int, actor: ApiActor, session: SessionDep) -> HouseholdRead:
    """One household with its current members; 404 outside the caller's area."""
    return to_read(service.get_household(session, actor=actor, household_id=household_id), with_members=True)
