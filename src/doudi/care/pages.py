"""Console pages of home care: the command centre, persons, visits, providers, settlements, feedback, and the
caregiver's mobile page. Refusals (bad input, conflicts) are shown by the app's error pages with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.care import notices as care_notices
from doudi.care import photos, settlement, supervision, visits
from doudi.care import service as care
from doudi.care.export import recipients_workbook, settlement_workbook, visits_workbook
from doudi.care.models import Caregiver, CareRecipient, CareVisit, FeedbackKind
from doudi.care.rules import FLAG_LABELS, ITEM_LABELS, ITEMS, LEVEL_LABELS, LOCAL, local_time, utc
from doudi.core import clock
from doudi.core.dates import month_start
from doudi.core.errors import FieldError, NotFound, ValidationFailed
from doudi.core.excel import MEDIA_TYPE
from doudi.core.masking import mask_id
from doudi.deps import CsrfChecked, FormDep, PageActor, SessionDep, Uploaded, upload_field
from doudi.registry import panels
from doudi.registry.models import Household, Person
from doudi.web.nav import NavItem, register
from doudi.web.render import render

router = APIRouter(include_in_schema=False)
register(NavItem("居家照料", "/care", "care.read"), before="/households")
register(NavItem("护理员签到", "/care/m", "care.record"), before="/households")

COMMON = {"level_labels": {str(k): v for k, v in LEVEL_LABELS.items()}, "status_labels": visits.STATUS_LABELS,
          "services": care.SERVICES, "flag_labels": FLAG_LABELS, "item_labels": ITEM_LABELS, "items": ITEMS,
          "trigger_labels": care.TRIGGER_LABELS}
FEEDBACK_KINDS = {FeedbackKind.RETURN_VISIT: "回访", FeedbackKind.COMPLAINT: "投诉"}


def _month(text: str) -> date:
    return care.month_or_error(text) if text else month_start(clock.today())


def _hhmm(dt: Any) -> str:
    return utc(dt).astimezone(LOCAL).strftime("%H:%M") if dt is not None else ""


def _xlsx(data: bytes, name: str) -> Response:
    return Response(data, media_type=MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _see(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _text(form: Any, key: str) -> str:
    return str(form.get(key) or "").strip()


def _int(form: Any, key: str, label: str) -> int:
    try:
        return int(_text(form, key))
    except ValueError:
        raise ValidationFailed([FieldError(key, f"{label}须为整数")]) from None


def _float(form: Any, key: str) -> float | None:
    raw = _text(form, key)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed([FieldError(key, f"{key} 须为数字")]) from None


@router.get("/care")
def dashboard(request: Request, session: SessionDep, actor: PageActor, month: str = "", area: str = "") -> Response:
    """智慧养老指挥中心: the month's hours, visits and alerts in the actor's scope."""
    m = _month(month)
    d = supervision.dashboard(session, actor=actor, month=m, today=clock.today(), area=area)
    return render(request, "care/dashboard.html", {
        "d": d, "month": f"{m:%Y-%m}", "area": area, "towns_chart": supervision.township_chart(d),
        "status_chart": supervision.status_chart(d, {str(k): v for k, v in visits.STATUS_LABELS.items()}), **COMMON})


@router.get("/care/persons")
def persons(request: Request, session: SessionDep, actor: PageActor, month: str = "", q: str = "", level: str = "",
            provider: int | None = None, area: str = "", page: int = Query(1, ge=1)) -> Response:
    """Entitled persons of a month: search, filter and page."""
    m = _month(month)
    rows, total = care.recipients(session, actor=actor, month=m, q=q, level=level, provider_id=provider, area=area,
                                  page=page)
    return render(request, "care/persons.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // 50)), "month": f"{m:%Y-%m}",
        "q": q, "level": level, "provider": provider or "", "area": area, "mask_id": mask_id,
        "providers": care.providers(session, actor=actor), **COMMON})


@router.get("/care/persons.xlsx")
def persons_export(session: SessionDep, actor: PageActor, month: str = "") -> Response:
    """The month's entitled persons as Excel (ID numbers masked)."""
    m = _month(month)
    data = recipients_workbook(session, actor=actor, month=m)
    audit.record(session, actor=actor, action="care.export", object_type="care_recipients", object_id=f"{m:%Y-%m}")
    session.commit()
    return _xlsx(data, f"care-persons-{m:%Y-%m}.xlsx")


@router.get("/care/persons/{person_id}")
def person(request: Request, person_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One person: assessments, entitlements, provider and home, visits, feedback."""
    actor.require("care.read")
    assessments = care.assessments_of(session, person_id=person_id)
    if not assessments or not actor.sees(assessments[0].area_code):
        raise NotFound(f"照料对象 {person_id}")
    recipient = None
    try:
        recipient = care.get_recipient(session, actor=actor, person_id=person_id)
    except NotFound:
        if actor.org_scoped:  # a provider sees only the persons assigned to it
            raise
    p = session.get(Person, person_id)
    assert p is not None
    stmt = select(CareVisit).where(CareVisit.person_id == person_id).order_by(CareVisit.planned_start.desc()).limit(60)
    person_visits = list(session.scalars(stmt))
    givers = []
    if recipient is not None and recipient.provider_id is not None:
        givers = list(session.scalars(select(Caregiver).where(Caregiver.provider_id == recipient.provider_id,
                                                              Caregiver.active.is_(True))))
    feedback = [f for f, _ in care.feedback_list(session, actor=actor) if f.person_id == person_id]
    return render(request, "care/person.html", {
        "p": p, "id_masked": mask_id(p.id_number), "assessments": assessments,
        "entitlements": care.entitlements_of(session, person_id=person_id), "recipient": recipient,
        "visits": person_visits, "givers": givers, "providers": care.providers(session, actor=actor),
        "feedback": feedback, "notices": care_notices.level_notices(session, person_id=person_id), "hhmm": _hhmm,
        "today": clock.today().isoformat(), "show_items": actor.can("care.assess"),
        "entitled_now": care.entitled_hours(session, person_id=person_id, month=clock.today()), **COMMON})


@router.post("/care/persons/{person_id}/assess")
def assess(person_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Record an assessment of the six items."""
    try:
        on = date.fromisoformat(_text(form, "assessed_on"))
    except ValueError:
        raise ValidationFailed([FieldError("assessed_on", "评估日期格式应为 YYYY-MM-DD")]) from None
    items = {k: _text(form, k) == "yes" for k in ITEMS if _text(form, k) in ("yes", "no")}
    care.record_assessment(session, actor=actor, person_id=person_id, assessed_on=on, items=items,
                           assessor=_text(form, "assessor"), evidence=_text(form, "evidence"),
                           trigger=_text(form, "trigger") or "initial")
    session.commit()
    return _see(f"/care/persons/{person_id}")


@router.post("/care/persons/{person_id}/reassess")
def reassess(person_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Ask for a re-assessment (monitoring, a caregiver's report)."""
    trigger = _text(form, "trigger") or "caregiver"
    care.request_reassessment(session, actor=actor, person_id=person_id, trigger=trigger,
                              reason=_text(form, "reason"), today=clock.today())
    session.commit()
    return _see(f"/care/persons/{person_id}")


@router.post("/care/persons/{person_id}/assign")
def assign(person_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Assign the provider and record the home's coordinates."""
    provider = _text(form, "provider_id")
    care.enroll_recipient(session, actor=actor, person_id=person_id, provider_id=int(provider) if provider else None,
                          latitude=_float(form, "latitude"), longitude=_float(form, "longitude"))
    session.commit()
    return _see(f"/care/persons/{person_id}")


@router.post("/care/persons/{person_id}/visits")
def schedule(person_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Book a visit from the person's page."""
    try:
        day = date.fromisoformat(_text(form, "day"))
        h1, m1 = (int(x) for x in _text(form, "start").split(":"))
        h2, m2 = (int(x) for x in _text(form, "end").split(":"))
    except ValueError:
        raise ValidationFailed([FieldError("day", "日期或时间格式有误（YYYY-MM-DD，HH:MM）")]) from None
    visits.schedule_visit(session, actor=actor, person_id=person_id,
                          caregiver_id=_int(form, "caregiver_id", "护理员"), service=_text(form, "service"),
                          start=local_time(day, h1, m1), end=local_time(day, h2, m2))
    session.commit()
    return _see(f"/care/persons/{person_id}")


@router.post("/care/persons/{person_id}/feedback")
def feedback(person_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Record a return visit or a complaint."""
    sat = _text(form, "satisfaction")
    care.record_feedback(session, actor=actor, person_id=person_id, kind=_text(form, "kind"),
                         content=_text(form, "content"), today=clock.today(), satisfaction=int(sat) if sat else None)
    session.commit()
    return _see(f"/care/persons/{person_id}")


def _visit_filter(month: str, status: str, provider: int | None, area: str, q: str) -> visits.VisitFilter:
    return visits.VisitFilter(month=care.month_or_error(month) if month else None, status=status,
                              provider_id=provider, area=area, q=q)


@router.get("/care/visits")
def visit_ledger(request: Request, session: SessionDep, actor: PageActor, month: str = "", status: str = "",
                 provider: int | None = None, area: str = "", q: str = "", page: int = Query(1, ge=1)) -> Response:
    """The visit ledger: filter by month, status, provider, area and name; page; export."""
    f = _visit_filter(month, status, provider, area, q)
    rows, total = visits.list_visits(session, actor=actor, f=f, page=page)
    return render(request, "care/visits.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // 50)), "month": month,
        "status": status, "provider": provider or "", "area": area, "q": q, "hhmm": _hhmm,
        "providers": care.providers(session, actor=actor), "flag_text": visits.flag_text, **COMMON})


@router.get("/care/visits.xlsx")
def visits_export(session: SessionDep, actor: PageActor, month: str = "", status: str = "",
                  provider: int | None = None, area: str = "", q: str = "") -> Response:
    """The filtered visit ledger as Excel."""
    f = _visit_filter(month, status, provider, area, q)
    data = visits_workbook(session, actor=actor, f=f)
    audit.record(session, actor=actor, action="care.export", object_type="care_visits",
                 extra={"month": month, "status": status, "provider": provider, "area": area})
    session.commit()
    return _xlsx(data, "care-visits.xlsx")


@router.post("/care/visits/{visit_id}/review")
def review(visit_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Accept or reject a flagged visit."""
    visits.review_visit(session, actor=actor, visit_id=visit_id, accept=_text(form, "decision") == "accept",
                        reason=_text(form, "reason"), version=_int(form, "version", "版本"))
    session.commit()
    return _see(_text(form, "back") if _text(form, "back").startswith("/care") else "/care/visits?status=flagged")


@router.post("/care/visits/{visit_id}/cancel")
def cancel(visit_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Cancel a scheduled visit with a reason."""
    v = visits.cancel_visit(session, actor=actor, visit_id=visit_id, reason=_text(form, "reason"),
                            version=_int(form, "version", "版本"))
    session.commit()
    return _see(f"/care/persons/{v.person_id}")


@router.get("/care/providers")
def provider_list(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """Procured providers with their contracts and caregivers."""
    actor.require("care.read")
    ps = care.providers(session, actor=actor)
    givers = {p.id: list(session.scalars(select(Caregiver).where(Caregiver.provider_id == p.id))) for p in ps}
    return render(request, "care/providers.html", {"providers": ps, "givers": givers, **COMMON})


@router.get("/care/settlements")
def settlement_list(request: Request, session: SessionDep, actor: PageActor, month: str = "") -> Response:
    """Monthly provider settlements."""
    rows = settlement.settlements(session, actor=actor, month=care.month_or_error(month) if month else None)
    return render(request, "care/settlements.html", {"rows": rows, "month": month, "yuan": settlement.fen_to_yuan,
                                                     **COMMON})


@router.post("/care/settlements")
def settle(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Settle a finished month for every provider in scope."""
    m = care.month_or_error(_text(form, "month"))
    out = settlement.settle_month(session, actor=actor, month=m, today=clock.today())
    session.commit()
    rows = settlement.settlements(session, actor=actor, month=m)
    return render(request, "care/settlements.html", {"rows": rows, "month": f"{m:%Y-%m}", "skipped": out.skipped,
                                                     "created": len(out.created), "yuan": settlement.fen_to_yuan,
                                                     **COMMON})


@router.get("/care/settlements.xlsx")
def settlement_export(session: SessionDep, actor: PageActor, month: str) -> Response:
    """The month's settlement sheet (payables, person lines, unpaid visits)."""
    actor.require("care.export")
    m = care.month_or_error(month)
    data = settlement_workbook(session, month=m, actor=actor)
    audit.record(session, actor=actor, action="care.export", object_type="care_settlements", object_id=f"{m:%Y-%m}")
    session.commit()
    return _xlsx(data, f"care-settlement-{m:%Y-%m}.xlsx")


@router.get("/care/feedback")
def feedback_page(request: Request, session: SessionDep, actor: PageActor, status: str = "",
                  kind: str = "") -> Response:
    """Return visits and complaints; complaints tracked to closure."""
    rows = care.feedback_list(session, actor=actor, status=status, kind=kind)
    return render(request, "care/feedback.html", {"rows": rows, "status": status, "kind": kind,
                                                  "kinds": FEEDBACK_KINDS,
                                                  **COMMON})


@router.post("/care/feedback/{feedback_id}/close")
def close(feedback_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Close a complaint with its resolution."""
    care.close_complaint(session, actor=actor, feedback_id=feedback_id, resolution=_text(form, "resolution"),
                         today=clock.today(), version=_int(form, "version", "版本"))
    session.commit()
    return _see("/care/feedback")


# ---------------------------------------------------------------- the caregiver's phone


def _mobile(request: Request, session: Any, actor: Actor, day: date, message: str = "") -> Response:
    mine = visits.my_caregiver(session, actor=actor)
    f = visits.VisitFilter(day=day, caregiver_id=mine.id if mine else None)
    rows, _ = visits.list_visits(session, actor=actor, f=f, per_page=100)
    homes = {}

    for r in session.scalars(select(CareRecipient).where(CareRecipient.person_id.in_([v.person_id for v, *_ in rows]))):
        homes[r.person_id] = r
    return render(request, "care/mobile.html", {
        "rows": rows, "day": day, "mine": mine, "hhmm": _hhmm, "homes": homes, "message": message,
        "key": lambda: uuid.uuid4().hex, **COMMON})


@router.get("/care/m")
def mobile(request: Request, session: SessionDep, actor: PageActor, day: str = "") -> Response:
    """Today's visits on the caregiver's phone, with check-in and check-out."""
    actor.require("care.record")
    try:
        d = date.fromisoformat(day) if day else datetime.now(UTC).astimezone(LOCAL).date()
    except ValueError:
        raise ValidationFailed([FieldError("day", "日期格式应为 YYYY-MM-DD")]) from None
    return _mobile(request, session, actor, d)


@router.post("/care/m/visits/{visit_id}/check-in")
def mobile_check_in(request: Request, visit_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                    form: FormDep) -> Response:
    """Check in from the phone (location from the browser where given)."""
    v = visits.check_in(session, actor=actor, visit_id=visit_id, at=datetime.now(UTC), latitude=_float(form, "lat"),
                        longitude=_float(form, "lon"), key=_text(form, "key"))
    session.commit()
    return _see(f"/care/m?day={v.visit_date.isoformat()}#v{v.id}")


PhotoUpload = Annotated[Uploaded, Depends(upload_field("photo", max_bytes=photos.MAX_BYTES))]


@router.get("/care/visits/{visit_id}/photo")
def visit_photo(visit_id: int, session: SessionDep, actor: PageActor) -> Response:
    """A visit's photo, for whoever may see the visit."""
    data, media = photos.photo_of(session, actor=actor, visit_id=visit_id)
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/care/m/visits/{visit_id}/check-out")
def mobile_check_out(request: Request, visit_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                     form: FormDep, photo: PhotoUpload) -> Response:
    """Check out from the phone with the services done, a note and an optional photo (checked before anything
    is written, so a refused photo leaves the visit in progress)."""
    done = [str(s) for s in form.getlist("services_done")]
    data = photo.check() if photo.data or photo.filename else b""
    if data:
        photos.image_suffix(data)
    v = visits.check_out(session, actor=actor, visit_id=visit_id, at=datetime.now(UTC), latitude=_float(form, "lat"),
                         longitude=_float(form, "lon"), key=_text(form, "key"), services_done=done,
                         note=_text(form, "note"))
    if data and not v.photo:
        photos.attach_photo(session, actor=actor, visit_id=v.id, data=data)
    session.commit()
    return _see(f"/care/m?day={v.visit_date.isoformat()}#v{v.id}")


@panels.register
def household_panel(session: Session, actor: Actor, household: Household) -> panels.Panel | None:
    """The assistance chain's care part: members' entitlements and their latest visits."""
    if not actor.can("care.read"):
        return None
    members = [m.person_id for m in household.members if m.valid_to is None]
    ents = [e for pid in members for e in care.entitlements_of(session, person_id=pid)[:1]]
    if not ents:
        return None
    stmt = (select(CareVisit).where(CareVisit.person_id.in_(members))
            .order_by(CareVisit.visit_date.desc(), CareVisit.id.desc()).limit(20))
    stmt = care.provider_scope(stmt, actor, area=CareVisit.area_code, org=CareVisit.provider_key)
    return panels.Panel("居家照料", "care/_panel.html", {
        "ents": ents, "visits": list(session.scalars(stmt)), "hhmm": _hhmm, **COMMON})
