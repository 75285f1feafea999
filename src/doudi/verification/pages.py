"""Console pages of verification: sources, batches (with quarantined rows), review queue, requests and reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf
from doudi.core import clock
from doudi.deps import CsrfChecked, PageActor, SessionDep, SettingsDep
from doudi.policy.params import load_pack
from doudi.registry.models import Household
from doudi.registry.panels import Panel, register
from doudi.registry.service import current_members
from doudi.verification import queue, reporting, service
from doudi.verification.flows import ingest_upload
from doudi.verification.linkage.model import describe_evidence
from doudi.verification.sources import load_sources
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import render

router = APIRouter(prefix="/verification", include_in_schema=False)

nav(NavItem("信息核对", "/verification/requests", "verification.read"), before="/audit")
nav(NavItem("部门数据", "/verification/batches", "feed.read"), before="/audit")
nav(NavItem("匹配复核", "/verification/reviews", "linkage.review"), before="/audit")


@router.get("/sources")
def sources_page(request: Request, actor: PageActor) -> Response:
    """The declared data sources and their column contracts."""
    actor.require("feed.read")
    return render(request, "verification/sources.html", {"sources": list(load_sources().values())})


@router.get("/batches")
def batches_page(request: Request, session: SessionDep, actor: PageActor, source: str = "") -> Response:
    """Feed batches with lineage and counts; upload form for those who may ingest."""
    items = queue.list_batches(session, actor=actor, source_key=source)
    return render(request, "verification/batches.html", {
        "batches": items, "source": source, "sources": load_sources(), "can_ingest": actor.can("feed.ingest")})


@router.post("/batches")
def upload(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor, _csrf: CsrfChecked,
           source_key: Annotated[str, Form()], file: Annotated[UploadFile, File()]) -> Response:
    """Take in a feed file from the browser and show its batch."""
    batch, _ = ingest_upload(session, settings, actor, source_key, file)
    session.commit()
    return RedirectResponse(f"/verification/batches/{batch.id}", status_code=303)


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: int, session: SessionDep, actor: PageActor,
               page: int = Query(1, ge=1)) -> Response:
    """One batch: lineage, link outcome and its quarantined rows, page by page."""
    batch = queue.get_batch(session, actor=actor, batch_id=batch_id)
    rows, total = queue.rejects(session, actor=actor, batch_id=batch_id, page=page, per_page=50)
    source = load_sources().get(batch.source_key)
    return render(request, "verification/batch.html", {
        "b": batch, "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // 50)),
        "matches": queue.match_counts(session, actor=actor, batch=batch),
        "source": source, "col_labels": {c.name: c.label for c in source.columns} if source else {}})


@router.get("/reviews")
def reviews_page(request: Request, session: SessionDep, actor: PageActor, status: str = "pending") -> Response:
    """The clerical review queue: the feed record beside its registry candidate."""
    items = queue.list_reviews(session, actor=actor, status=status)
    return render(request, "verification/reviews.html", {"items": items, "status": status, "sources": load_sources(),
                                                         "describe": describe_evidence})


@router.post("/reviews/{review_id}")
def review_decide(review_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                  decision: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                  version: Annotated[int | None, Form()] = None) -> Response:
    """Accept or reject one uncertain match."""
    queue.decide_review(session, actor=actor, review_id=review_id, accept=decision == "accept", note=note,
                        version=version)
    service.refresh_open_requests(session, actor=on_behalf(actor))
    session.commit()
    return RedirectResponse("/verification/reviews", status_code=303)


@router.get("/requests")
def requests_page(request: Request, session: SessionDep, actor: PageActor, status: str = "") -> Response:
    """Requests in the user's area with due dates (Art. 17) and status."""
    items = service.list_requests(session, actor=actor, status=status)
    names = {h.id: h.household_no for h in session.query(Household).filter(
        Household.id.in_([r.household_id for r in items]))} if items else {}
    return render(request, "verification/requests.html", {"items": items, "names": names, "status": status,
                                                          "today": clock.today()})


@router.post("/requests")
def request_create(session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   household_id: Annotated[int, Form()]) -> Response:
    """Open a request from the household page."""
    req = service.create_request(session, actor=actor, household_id=household_id)
    session.commit()
    return RedirectResponse(f"/verification/requests/{req.id}", status_code=303)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Tracking per source and the 核对报告 of one request."""
    hr = reporting.build_report(session, actor=actor, request_id=request_id)
    ctx = reporting.report_context(hr)
    ctx["can_export"] = actor.can("verification.report")
    ctx["start_workdays"] = load_pack(hr.request.area_code).value("procedure.verification_start_workdays",
                                                                  on=hr.request.requested_on)
    return render(request, "verification/request.html", ctx)


@router.post("/requests/{request_id}/process")
def request_process(request_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked) -> Response:
    """Re-answer a request from the data on hand."""
    actor.require("verification.request")
    service.process_request(session, actor=actor, request_id=request_id)
    session.commit()
    return RedirectResponse(f"/verification/requests/{request_id}", status_code=303)


@router.get("/requests/{request_id}/report.{kind}")
def report_file(request_id: int, kind: Literal["pdf", "xlsx"], session: SessionDep, actor: PageActor) -> Response:
    """The 核对报告 as PDF or Excel."""
    data, media, name = reporting.download(session, actor=actor, request_id=request_id, kind=kind)
    session.commit()
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/households/{household_id}/authorisations")
def authorise(household_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
              person_id: Annotated[int, Form()], signed_by_name: Annotated[str, Form()],
              signed_on: Annotated[date, Form()], document_ref: Annotated[str, Form()],
              signed_by_relation: Annotated[str, Form()] = "self") -> Response:
    """Record a member's authorisation from the household page."""
    service.record_authorisation(session, actor=actor, household_id=household_id, person_id=person_id,
                                 signed_by_name=signed_by_name, signed_on=signed_on, document_ref=document_ref,
                                 signed_by_relation=signed_by_relation)
    session.commit()
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@register
def household_panel(session: Session, actor: Actor, household: Household) -> Panel | None:
    """Authorisations, the latest request's tracking and a button to request verification."""
    if not actor.can("verification.read"):
        return None
    auths = service.authorisations_for(session, actor=actor, household_id=household.id)
    latest = service.household_tracking(session, actor=actor, household_id=household.id)
    missing = service.missing_authorisations(session, household, clock.today())
    return Panel("信息核对", "verification/_panel.html", {
        "hh": household, "auths": auths, "latest": latest, "missing": missing,
        "members": current_members(household), "can_request": actor.can("verification.request")})
