"""Console pages of the registry: the household list (search, filter, pages, Excel) and detail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core.errors import NotFound
from doudi.core.masking import scrub_text
from doudi.deps import CsrfChecked, PageActor, SessionDep
from doudi.registry import service
from doudi.registry.export import households_workbook
from doudi.registry.panels import panels_for
from doudi.web.render import render

router = APIRouter(include_in_schema=False)


def _townships(session: Session, actor: Actor) -> list[tuple[str, str]]:
    return [(a.code, a.name) for a in areas.subtree(session, area_code=actor.area_code, level="township")]


@router.get("/households")
def household_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    q: str = "",
    area_code: str = "",
    hukou_type: str = "",
    page: int = Query(1, ge=1),
) -> Response:
    """Households in the user's area: search by name or ID, filter by township, page through."""
    filters = service.HouseholdFilter(q=q, area_code=area_code, hukou_type=hukou_type)
    result = service.list_households(session, actor=actor, filters=filters, page=page, per_page=20)
    area_names = areas.names(session, codes=[h.area_code for h in result.items])
    ctx = {"result": result, "filters": filters, "townships": _townships(session, actor), "area_names": area_names,
           "heads": {h.id: next(iter(service.current_members(h)), None) for h in result.items}}
    template = "registry/_rows.html" if request.headers.get("HX-Request") else "registry/list.html"
    return render(request, template, ctx)


@router.get("/households/export.xlsx")
def household_export(
    request: Request, session: SessionDep, actor: PageActor, q: str = "", area_code: str = "", hukou_type: str = ""
) -> Response:
    """The filtered household list as an Excel workbook (ID numbers masked)."""
    actor.require("household.export")
    filters = service.HouseholdFilter(q=q, area_code=area_code, hukou_type=hukou_type)
    data = households_workbook(session, actor=actor, filters=filters)
    audit.record(session, actor=actor, action="household.export", object_type="household",
                 area_code=actor.area_code,
                 extra={"q": scrub_text(q), "area_code": area_code, "hukou_type": hukou_type})
    session.commit()
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="households.xlsx"'},
    )


@router.get("/households/{household_id}")
def household_detail(request: Request, household_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One household: members, facts with their sources, and what other domains attach to it."""
    hh = service.get_household(session, actor=actor, household_id=household_id)

    ctx = {
        "hh": hh,
        "members": service.current_members(hh),
        "facts": service.facts_of(session, household=hh),
        "area_name": " / ".join(areas.names(session, codes=[hh.area_code[:9], hh.area_code]).values()),
        "can_unmask": actor.can("household.unmask"),
        "panels": panels_for(session, actor=actor, household=hh),
    }
    return render(request, "registry/detail.html", ctx)


@router.post("/households/{household_id}/members/{person_id}/unmask")
def unmask(
    request: Request,
    household_id: int,
    person_id: int,
    session: SessionDep,
    actor: PageActor,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Reveal one member's ID number for a stated reason (audited); returns the fragment to swap in."""
    hh = service.get_household(session, actor=actor, household_id=household_id)
    member = next((m for m in hh.members if m.person_id == person_id), None)
    if member is None:
        raise NotFound("person")
    number = service.unmask_person(session, actor=actor, household=hh, person=member.person, reason=reason)
    session.commit()
    return HTMLResponse(f'<span class="idno" title="已记录查看">{number}</span>')
