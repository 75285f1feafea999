"""Care API: scheduling, the caregiver's check-in/out (idempotent), supervisor review, payables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from doudi.care import photos, settlement, visits
from doudi.care.models import CareVisit
from doudi.care.rules import utc
from doudi.care.schemas import CheckIn, CheckOut, PayableRead, Reason, Review, VisitCreate, VisitRead
from doudi.care.service import month_or_error
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, ReadSessionDep, SessionDep, Uploaded, upload_field

router = APIRouter(prefix="/care", tags=["care"])


def _read(v: CareVisit) -> VisitRead:
    return VisitRead(id=v.id, person_id=v.person_id, provider_key=v.provider_key, caregiver_id=v.caregiver_id,
                     service=v.service, visit_date=v.visit_date, planned_start=utc(v.planned_start),
                     planned_end=utc(v.planned_end), status=v.status,
                     check_in_at=utc(v.check_in_at) if v.check_in_at else None,
                     check_out_at=utc(v.check_out_at) if v.check_out_at else None, in_lat=v.in_lat, in_lon=v.in_lon,
                     out_lat=v.out_lat, out_lon=v.out_lon, minutes=v.minutes, counted_minutes=v.counted_minutes,
                     distance_m=v.distance_m, flags=list(v.flags or []), reason=v.reason, version=v.version)


@router.get("/visits", response_model=list[VisitRead])
def list_visits(actor: ApiActor, session: ReadSessionDep, day: date | None = Query(None, alias="date"),
                status: str = "", page: int = Query(1, ge=1, le=MAX_PAGE),
                per_page: int = Query(50, ge=1, le=500)) -> list[VisitRead]:
    """Visits in scope (a caregiver's account: their own), by day and status."""
    mine = visits.my_caregiver(session, actor=actor)
    f = visits.VisitFilter(day=day, status=status, caregiver_id=mine.id if mine else None)
    rows, _ = visits.list_visits(session, actor=actor, f=f, page=page, per_page=per_page)
    return [_read(v) for v, *_ in rows]


@router.post("/visits", response_model=VisitRead, status_code=201)
def schedule(body: VisitCreate, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Book a visit (refused beyond the entitled hours or when the caregiver is already booked)."""
    v = visits.schedule_visit(session, actor=actor, person_id=body.person_id, caregiver_id=body.caregiver_id,
                              service=body.service, start=body.start, end=body.end)
    session.commit()
    return _read(v)


@router.post("/visits/{visit_id}/check-in", response_model=VisitRead)
def check_in(visit_id: Id, body: CheckIn, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Check in at the home; the same key sent again returns the visit unchanged."""
    v = visits.check_in(session, actor=actor, visit_id=visit_id, at=body.at or datetime.now(UTC),
                        latitude=body.latitude, longitude=body.longitude, key=body.key)
    session.commit()
    return _read(v)


@router.post("/visits/{visit_id}/check-out", response_model=VisitRead)
def check_out(visit_id: Id, body: CheckOut, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Check out; the visit is verified or flagged by the pack's tolerances."""
    v = visits.check_out(session, actor=actor, visit_id=visit_id, at=body.at or datetime.now(UTC),
                         latitude=body.latitude, longitude=body.longitude, key=body.key,
                         services_done=body.services_done, note=body.note, photo=photos.check_ref(body.photo))
    session.commit()
    return _read(v)


PhotoUpload = Annotated[Uploaded, Depends(upload_field("photo", max_bytes=photos.MAX_BYTES))]


@router.post("/visits/{visit_id}/photo", response_model=VisitRead)
def upload_photo(visit_id: int, photo: PhotoUpload, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Attach the visit's photo (multipart field `photo`; JPEG, PNG or WebP, at most 5 MB)."""
    v = photos.attach_photo(session, actor=actor, visit_id=visit_id, data=photo.check())
    session.commit()
    return _read(v)


@router.post("/visits/{visit_id}/review", response_model=VisitRead)
def review(visit_id: Id, body: Review, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Accept or reject a flagged visit, with a reason."""
    v = visits.review_visit(session, actor=actor, visit_id=visit_id, accept=body.accept, reason=body.reason,
                            version=body.version)
    session.commit()
    return _read(v)


@router.post("/visits/{visit_id}/cancel", response_model=VisitRead)
def cancel(visit_id: Id, body: Reason, actor: ApiActor, session: SessionDep) -> VisitRead:
    """Cancel a scheduled visit, with a reason."""
    v = visits.cancel_visit(session, actor=actor, visit_id=visit_id, reason=body.reason, version=body.version)
    session.commit()
    return _read(v)


@router.get("/payables", response_model=list[PayableRead])
def payables(actor: ApiActor, session: ReadSessionDep, month: str) -> list[PayableRead]:
    """The month's provider payables (for the payments domain)."""
    actor.require("care.settle")
    frame = settlement.provider_payables(session, month=month_or_error(month))
    return [PayableRead(settlement_id=r["settlement_id"], provider_key=r["provider_key"],
                        provider_name=r["provider_name"], area_code=r["area_code"], month=r["month"],
                        component=r["component"], amount_fen=r["amount_fen"], amount=f"{r['amount']:.2f}")
            for r in frame.iter_rows(named=True) if actor.sees(r["area_code"])]
