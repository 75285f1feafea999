"""Registry JSON API: scoped, paginated households."""

from __future__ import annotations

from fastapi import APIRouter, Query

from doudi.core.masking import mask_id, mask_record
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, ReadSessionDep, SessionDep
from doudi.registry import service, writes
from doudi.registry.models import Household
from doudi.registry.schemas import (
    FactCreate,
    HouseholdCreate,
    HouseholdPage,
    HouseholdRead,
    HouseholdUpdate,
    MemberRead,
    PersonUpdate,
    RevisionRead,
)

router = APIRouter(tags=["registry"])


def to_read(hh: Household, *, with_members: bool) -> HouseholdRead:
    """Serialise a household for the API."""
    members = [
        MemberRead(person_id=m.person.id, name=m.person.name, relation=m.relation,
                   id_number_masked=mask_id(m.person.id_number), sex=m.person.sex,
                   birth_date=m.person.birth_date, counted=m.exclusion is None, version=m.person.version)
        for m in service.current_members(hh)
    ] if with_members else []
    return HouseholdRead(id=hh.id, household_no=hh.household_no, area_code=hh.area_code,
                         address=hh.address, hukou_type=hh.hukou_type, version=hh.version, members=members)


@router.get("/households", response_model=HouseholdPage)
def list_households(
    actor: ApiActor,
    session: ReadSessionDep,
    q: str = "",
    area_code: str = "",
    hukou_type: str = "",
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(20, ge=1, le=200),
) -> HouseholdPage:
    """Households in the caller's area, searchable by name, ID or household number."""
    result = service.list_households(
        session, actor=actor, filters=service.HouseholdFilter(q=q, area_code=area_code, hukou_type=hukou_type),
        page=page, per_page=per_page, with_members=False,
    )
    return HouseholdPage(items=[to_read(h, with_members=False) for h in result.items], total=result.total,
                         page=result.page, per_page=result.per_page, pages=result.pages)


@router.get("/households/{household_id}", response_model=HouseholdRead)
def get_household(household_id: Id, actor: ApiActor, session: ReadSessionDep) -> HouseholdRead:
    """One household with its current members; 404 outside the caller's area."""
    return to_read(service.get_household(session, actor=actor, household_id=household_id), with_members=True)


@router.post("/households", response_model=HouseholdRead, status_code=201)
def create_household(body: HouseholdCreate, actor: ApiActor, session: SessionDep) -> HouseholdRead:
    """Register a household with its members in the caller's area."""
    hh = writes.create_household(session, actor=actor, data=body)
    session.commit()
    return to_read(hh, with_members=True)


@router.patch("/households/{household_id}", response_model=HouseholdRead)
def update_household(household_id: Id, body: HouseholdUpdate, actor: ApiActor, session: SessionDep) -> HouseholdRead:
    """Correct a household; 409 when `version` is stale."""
    hh = writes.update_household(session, actor=actor, household_id=household_id, data=body)
    session.commit()
    return to_read(hh, with_members=True)


@router.patch("/households/{household_id}/members/{person_id}", response_model=HouseholdRead)
def update_member(
    household_id: Id, person_id: Id, body: PersonUpdate, actor: ApiActor, session: SessionDep
) -> HouseholdRead:
    """Correct a member's attributes; 409 when `version` is stale."""
    writes.update_person(session, actor=actor, household_id=household_id, person_id=person_id, data=body)
    session.commit()
    return to_read(service.get_household(session, actor=actor, household_id=household_id), with_members=True)


@router.post("/households/{household_id}/facts", status_code=201)
def add_fact(household_id: Id, body: FactCreate, actor: ApiActor, session: SessionDep) -> dict[str, object]:
    """Record a declared or investigated income, asset, expense or living-condition fact."""
    fact = writes.add_fact(session, actor=actor, household_id=household_id, data=body)
    session.commit()
    return {"id": fact.id, "kind": body.kind, "item": body.item}


@router.get("/households/{household_id}/revisions", response_model=list[RevisionRead])
def list_revisions(household_id: Id, actor: ApiActor, session: ReadSessionDep) -> list[RevisionRead]:
    """The household's change history (sensitive values masked)."""
    return [RevisionRead(id=r.id, object_type=r.object_type, object_id=r.object_id, action=r.action,
                         before=mask_record(r.before), after=mask_record(r.after), by_name=r.by_name,
                         reverted_by=r.reverted_by)
            for r in writes.revisions(session, actor=actor, household_id=household_id)]


@router.post("/revisions/{revision_id}/revert", response_model=RevisionRead)
def revert(revision_id: Id, actor: ApiActor, session: SessionDep) -> RevisionRead:
    """Undo a change; 409 if the record changed again since."""
    r = writes.revert(session, actor=actor, revision_id=revision_id)
    session.commit()
    return RevisionRead(id=r.id, object_type=r.object_type, object_id=r.object_id, action=r.action,
                        before=mask_record(r.before), after=mask_record(r.after), by_name=r.by_name,
                        reverted_by=r.reverted_by)
