"""Verification JSON API (/api/v1/verification/…): sources, batches, reviews, authorisations, requests, reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, SessionDep, SettingsDep
from doudi.ingest.models import IngestBatch
from doudi.verification import queue, reporting, service
from doudi.verification.flows import ingest_upload
from doudi.verification.linkage.model import describe_evidence
from doudi.verification.schemas import (
    AuthorisationCreate,
    AuthorisationRead,
    BatchRead,
    ColumnRead,
    RejectRead,
    ReportRead,
    RequestCreate,
    RequestRead,
    ReviewDecision,
    ReviewRead,
    SourceRead,
    SourceTrackRead,
)
from doudi.verification.sources import load_sources

router = APIRouter(prefix="/verification", tags=["verification"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def batch_read(session: Session, b: IngestBatch, *, actor: Actor, already: bool = False) -> BatchRead:
    """Serialise a batch with its match counts (as far as the actor may see them)."""
    return BatchRead(id=b.id, source_key=b.source_key, file_name=b.file_name, file_sha256=b.file_sha256,
                     started_at=b.started_at, finished_at=b.finished_at, rows_total=b.rows_total, rows_ok=b.rows_ok,
                     rows_rejected=b.rows_rejected, rows_duplicate=b.rows_duplicate, status=b.status,
                     area_code=b.area_code, national=b.national, details=queue.batch_details(actor, b),
                     already=already, match_counts=queue.match_counts(session, actor=actor, batch=b))


@router.get("/sources", response_model=list[SourceRead])
def sources(actor: ApiActor) -> list[SourceRead]:
    """Every declared data source with its column contract."""
    actor.require("feed.read")
    return [SourceRead(key=s.key, label=s.label, agency=s.agency, yields=s.yields,
                       columns=[ColumnRead(name=c.name, type=c.type, required=c.required, label=c.label,
                                           values=list(c.values)) for c in s.columns])
            for s in load_sources().values()]


@router.get("/batches", response_model=list[BatchRead])
def batches(actor: ApiActor, session: SessionDep, source_key: str = "") -> list[BatchRead]:
    """Feed batches in the caller's area, newest first."""
    return [batch_read(session, b, actor=actor)
            for b in queue.list_batches(session, actor=actor, source_key=source_key)]


@router.post("/batches", response_model=BatchRead, status_code=201)
def upload_batch(actor: ApiActor, session: SessionDep, settings: SettingsDep,
                 source_key: Annotated[str, Form()], file: Annotated[UploadFile, File()]) -> BatchRead:
    """Ingest an uploaded feed file (CSV, XLSX, JSONL, Parquet); the same file again is a no-op."""
    batch, already = ingest_upload(session, settings, actor, source_key, file)
    session.commit()
    return batch_read(session, batch, actor=actor, already=already)


@router.get("/batches/{batch_id}", response_model=BatchRead)
def batch(batch_id: Id, actor: ApiActor, session: SessionDep) -> BatchRead:
    """One batch with its lineage and how its rows were linked."""
    return batch_read(session, queue.get_batch(session, actor=actor, batch_id=batch_id), actor=actor)


@router.get("/batches/{batch_id}/rejects", response_model=list[RejectRead])
def batch_rejects(batch_id: Id, actor: ApiActor, session: SessionDep, page: int = Query(1, ge=1, le=MAX_PAGE),
                  per_page: int = Query(100, ge=1, le=1000)) -> list[RejectRead]:
    """Quarantined rows of a batch, with row number, field and reason."""
    rows, _ = queue.rejects(session, actor=actor, batch_id=batch_id, page=page, per_page=per_page)
    return [RejectRead(row_number=r.row_number, field=r.field, reason=r.reason, raw=dict(r.raw or {})) for r in rows]


@router.get("/reviews", response_model=list[ReviewRead])
def reviews(actor: ApiActor, session: SessionDep, status: str = "pending") -> list[ReviewRead]:
    """The clerical review queue in the caller's area."""
    return [ReviewRead(id=r.id, batch_id=r.batch_id, source_key=r.source_key, record=r.record, rows=len(r.row_numbers),
                       candidate_person_id=p.id, candidate_name=p.name, probability=r.probability, status=r.status,
                       kind=r.kind, id_kind=r.id_kind, evidence=dict(describe_evidence(r.evidence, r.id_kind)))
            for r, p in queue.list_reviews(session, actor=actor, status=status)]


@router.post("/reviews/{review_id}", response_model=ReviewRead)
def decide(review_id: Id, body: ReviewDecision, actor: ApiActor, session: SessionDep) -> ReviewRead:
    """Accept or reject an uncertain match (audited)."""
    r = queue.decide_review(session, actor=actor, review_id=review_id, accept=body.accept, note=body.note,
                            version=body.version)
    service.refresh_open_requests(session, actor=on_behalf(actor))
    session.commit()
    return ReviewRead(id=r.id, batch_id=r.batch_id, source_key=r.source_key, record=r.record, rows=len(r.row_numbers),
                      candidate_person_id=r.candidate_person_id, candidate_name="", probability=r.probability,
                      status=r.status, kind=r.kind, id_kind=r.id_kind,
                      evidence=dict(describe_evidence(r.evidence, r.id_kind)))


@router.post("/authorisations", response_model=AuthorisationRead, status_code=201)
def authorise(body: AuthorisationCreate, actor: ApiActor, session: SessionDep) -> AuthorisationRead:
    """Record a member's signed authorisation (授权书)."""
    a = service.record_authorisation(session, actor=actor, **body.model_dump())
    session.commit()
    return AuthorisationRead(id=a.id, **body.model_dump())


@router.get("/households/{household_id}/authorisations", response_model=list[AuthorisationRead])
def household_authorisations(household_id: Id, actor: ApiActor, session: SessionDep) -> list[AuthorisationRead]:
    """A household's authorisations."""
    return [AuthorisationRead.model_validate(a, from_attributes=True)
            for a in service.authorisations_for(session, actor=actor, household_id=household_id)]


def request_read(req: Any, tracks: list[service.SourceTrack]) -> RequestRead:
    """Serialise a request with its tracking."""
    return RequestRead(id=req.id, household_id=req.household_id, requested_on=req.requested_on, due_on=req.due_on,
                       started_at=req.started_at, period_start=req.period_start, period_end=req.period_end,
                       status=req.status, calendar_note=req.calendar_note,
                       sources=[SourceTrackRead(**t.__dict__) for t in tracks])


@router.post("/requests", response_model=RequestRead, status_code=201)
def create_request(body: RequestCreate, actor: ApiActor, session: SessionDep) -> RequestRead:
    """Open a verification request; 422 naming the members whose authorisation is missing."""
    req = service.create_request(session, actor=actor, **body.model_dump())
    session.commit()
    return request_read(*service.tracking(session, actor=actor, request_id=req.id))


@router.get("/requests/{request_id}", response_model=RequestRead)
def get_request(request_id: Id, actor: ApiActor, session: SessionDep) -> RequestRead:
    """A request and its status per source."""
    return request_read(*service.tracking(session, actor=actor, request_id=request_id))


@router.get("/households/{household_id}/tracking", response_model=RequestRead | None)
def household_tracking(household_id: Id, actor: ApiActor, session: SessionDep) -> RequestRead | None:
    """The latest request of a household with its tracking (what the citizen portal shows)."""
    found = service.household_tracking(session, actor=actor, household_id=household_id)
    return None if found is None else request_read(*found)


@router.get("/requests/{request_id}/report", response_model=ReportRead)
def report(request_id: Id, actor: ApiActor, session: SessionDep) -> ReportRead:
    """The 核对报告 as data."""
    hr = reporting.build_report(session, actor=actor, request_id=request_id)
    r = hr.report

    def rows(frame: Any) -> list[dict[str, object]]:
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
                for row in frame.iter_rows(named=True)]

    return ReportRead(request_id=request_id, household_id=hr.household.id, months=[str(m)[:7] for m in r.months],
                      income_by_month=rows(r.income_by_month), income_compare=rows(r.income_compare),
                      totals=rows(r.totals)[0] if r.totals.height else None, asset_compare=rows(r.asset_compare),
                      statuses=rows(r.statuses), discrepancies=rows(r.discrepancies), conclusion=hr.conclusion)


@router.get("/requests/{request_id}/report.{kind}")
def report_file(request_id: Id, kind: Literal["pdf", "xlsx"], session: SessionDep, actor: ApiActor) -> Response:
    """The 核对报告 as PDF or Excel."""
    data, media, name = reporting.download(session, actor=actor, request_id=request_id, kind=kind)
    session.commit()
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
