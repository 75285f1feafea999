"""Console pages of the case workflow: inbox, case list and detail, step forms, documents, notices,
enrollments. Forms post back here; every action goes through the same services as the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.cases import (
    applications,
    consistency,
    documents,
    enrollments,
    export,
    inbox,
    notices,
    steps,
    temporary,
    verify_hook,
)
from doudi.cases import service as svc
from doudi.cases.models import Case, Enrollment, Notice, TemporaryGrant
from doudi.cases.notices import PROGRAM_LABELS
from doudi.cases.procedure import OUTCOME_LABELS, STEP_LABELS
from doudi.cases.schemas import ApplicationCreate
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from doudi.core.masking import scrub_text
from doudi.deps import CsrfChecked, FormDep, PageActor, SessionDep, Uploaded, upload_field
from doudi.registry import panels
from doudi.registry.models import Household
from doudi.registry.service import get_household
from doudi.web import inbox_sources
from doudi.web.forms import row_indices
from doudi.web.render import register_words, render

router = APIRouter(include_in_schema=False)
register_words({**PROGRAM_LABELS, **OUTCOME_LABELS, **STEP_LABELS})


@panels.register
def cases_panel(session: Session, actor: Actor, household: Household) -> panels.Panel | None:
    """The household page: its applications and cases, and the link to register a new one."""
    if not actor.can("case.read"):
        return None
    rows = list(session.scalars(svc.scoped(select(Case), actor).where(Case.household_id == household.id)
                                .order_by(Case.id.desc()).limit(50)))
    return panels.Panel(title="救助申请与案件", template="cases/_household_panel.html",
                        context={"cases": rows, "household": household, "labels": PROGRAM_LABELS,
                                 "status_labels": export.STATUS, "active": svc.active_step, "step_label": svc.label,
                                 "can_create": actor.can("case.create")})


def _filters(q: str, status: str, program: str, area_code: str, step: str, overdue: str) -> svc.CaseFilter:
    return svc.CaseFilter(q=q, status=status, program=program, area_code=area_code, step=step,
                          overdue=overdue in {"1", "true", "on"})


@router.get("/inbox")
def inbox_page(request: Request, session: SessionDep, actor: PageActor, only: str = "",
               page: int = Query(1, ge=1)) -> Response:
    """My work, most urgent first."""
    rows, total, counts = inbox.inbox(session, actor=actor, only=only, page=page)
    tasks = inbox.open_tasks(session, actor=actor)
    reviews = enrollments.due_reviews(session, actor=actor, today=clock.today()) if actor.can("enrollment.manage") \
        else []
    names = areas.names(session, codes={r.area_code for r in rows})
    waiting = inbox.awaiting_acceptance(session, actor=actor)
    others = inbox_sources.other_items(session, actor=actor, today=clock.today())
    return render(request, "cases/inbox.html", {"rows": rows, "total": total, "counts": counts, "only": only,
                                                "waiting": waiting, "others": others[:100],
                                                "page": page, "pages": max(1, -(-total // 50)), "tasks": tasks,
                                                "reviews": reviews[:20], "names": names, "labels": PROGRAM_LABELS})


@router.get("/cases")
def case_list(request: Request, session: SessionDep, actor: PageActor, q: str = "", status: str = "",
              program: str = "", area_code: str = "", step: str = "", overdue: str = "",
              page: int = Query(1, ge=1)) -> Response:
    """All cases in the user's area: search, filter, page, export."""
    f = _filters(q, status, program, area_code, step, overdue)
    rows, total = svc.list_cases(session, actor=actor, filters=f, page=page, per_page=20)
    names = areas.names(session, codes={c.area_code for c in rows})
    towns = [(a.code, a.name) for a in areas.subtree(session, area_code=actor.area_code, level="township")]
    return render(request, "cases/list.html", {"rows": rows, "total": total, "f": f, "page": page,
                                               "pages": max(1, -(-total // 20)), "names": names, "towns": towns,
                                               "labels": PROGRAM_LABELS, "status_labels": export.STATUS,
                                               "active": svc.active_step, "step_label": svc.label})


@router.get("/cases/export.xlsx")
def case_export(session: SessionDep, actor: PageActor, q: str = "", status: str = "", program: str = "",
                area_code: str = "", step: str = "", overdue: str = "") -> Response:
    """The filtered case list as Excel."""
    data = export.cases_workbook(session, actor=actor, filters=_filters(q, status, program, area_code, step, overdue))
    audit.record(session, actor=actor, action="case.export", area_code=actor.area_code,
                 extra={"q": scrub_text(q), "status": status, "program": program})
    session.commit()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="cases.xlsx"'})


@router.get("/cases/new")
def new_case_form(request: Request, session: SessionDep, actor: PageActor, household_id: int | None = None) -> Response:
    """Application form: for a registered household, or a new one."""
    actor.require("case.create")
    hh = None
    if household_id is not None:
        hh = get_household(session, actor=actor, household_id=household_id)
    villages = areas.subtree(session, area_code=actor.area_code, level="village")
    return render(request, "cases/new.html", {"hh": hh, "villages": villages, "labels": PROGRAM_LABELS,
                                              "errors": [], "form": {}})


def _application_from_form(form: dict[str, Any]) -> ApplicationCreate:
    members = []
    for i in row_indices(form.keys()):  # rows are added and removed in the browser: numbers may have gaps
        name = str(form.get(f"m{i}_name", "")).strip()
        if not name:
            continue
        members.append({
            "name": name, "id_number": form.get(f"m{i}_id_number", ""), "relation": form.get(f"m{i}_relation"),
            "authorised": form.get(f"m{i}_authorised") == "on",
            "monthly_income": {"wage": form.get(f"m{i}_wage") or 0, "business": form.get(f"m{i}_business") or 0,
                               "transfer": form.get(f"m{i}_transfer") or 0},
        })
    need = None
    if form.get("need_kind"):
        need = {"kind": form["need_kind"], "amount": form.get("need_amount") or 0,
                "reason": form.get("need_reason", "")}
    return ApplicationCreate.model_validate({
        "household_id": int(form["household_id"]) if form.get("household_id") else None,
        "area_code": form.get("area_code") or None, "address": form.get("address", ""),
        "hukou_type": form.get("hukou_type") or None, "members": members,
        "programs": form.getlist("programs") if hasattr(form, "getlist") else form.get("programs", []),
        "channel": form.get("channel", "staff"), "applicant_name": form.get("applicant_name", ""),
        "applicant_id_number": form.get("applicant_id_number", ""), "applicant_phone": form.get("applicant_phone", ""),
        "proxy_name": form.get("proxy_name", ""), "proxy_phone": form.get("proxy_phone", ""),
        "proxy_relation": form.get("proxy_relation", ""), "close_relative": form.get("close_relative") == "on",
        "close_relative_note": form.get("close_relative_note", ""), "temporary_need": need,
        "authorised_all": form.get("authorised_all") == "on",
    })


def _errors(exc: Exception) -> list[FieldError]:
    if isinstance(exc, ValidationError):
        return [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    if isinstance(exc, ValidationFailed):
        return exc.errors
    return [FieldError("case", str(exc))]


# Read (under the size cap) before the route runs, so the route itself is a plain function off the event loop.
DocumentUpload = Annotated[Uploaded, Depends(upload_field(max_bytes=documents.MAX_BYTES))]


@router.post("/cases/new")
def new_case(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Register (and, if asked, accept) an application."""
    try:
        data = _application_from_form(form)  # type: ignore[arg-type]
        case = applications.submit(session, actor=actor, data=data)
        if form.get("accept_now") == "on" and actor.can("case.accept"):
            applications.accept(session, actor=actor, case_id=case.id)
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        villages = areas.subtree(session, area_code=actor.area_code, level="village")
        hh = get_household(session, actor=actor, household_id=int(str(form["household_id"]))) \
            if form.get("household_id") else None
        return render(request, "cases/new.html", {"hh": hh, "villages": villages, "labels": PROGRAM_LABELS,
                                                  "errors": _errors(exc), "form": dict(form)}, status_code=422)
    session.commit()
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.get("/cases/{case_id}")
def case_detail(request: Request, case_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Everything about a case: proposal and explanation, steps with deadlines, the active step's form,
    documents, notices and the timeline."""
    case = svc.get_case(session, actor=actor, case_id=case_id)
    return _detail(request, session, actor, case, [])


def _detail(request: Request, session: Any, actor: Any, case: Case, errors: list[FieldError],
            status_code: int = 200) -> Response:
    # Only staff whose roles may investigate are offered as investigators; those chosen at 启动调查 come
    # pre-selected (and named) at 入户调查.
    staff = [u for u in session.scalars(under(select(User).where(User.is_active.is_(True)), User.area_code,
                                               case.area_code[:9]).limit(200))
             if auth.actor_for(u).can("case.investigate")]
    started = svc.step_named(case, "investigation_start")
    picked = (started.data or {}).get("investigator_ids", []) if started else []
    chosen = [int(i) for i in picked] if isinstance(picked, list) else []
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    rules = svc.rules(case) if case.accepted_on else None
    events = svc.timeline(session, case=case)
    vreq = verify_hook.latest_request(session, case=case)
    active = svc.active_step(case)
    people = dict(session.execute(select(User.username, User.full_name).where(
        User.username.in_({e.actor for e in events}), User.full_name != "")).all())
    ctx = {
        "case": case, "active": active, "events": events, "people": people,
        "may_act": active is not None and steps.may_act(actor, active),
        "waiting_for": steps.waiting_for(active) if active is not None else "",
        "docs": documents.documents_of(session, case=case), "doc_kinds": documents.KINDS,
        "notices": list(session.scalars(select(Notice).where(Notice.case_id == case.id))),
        "labels": PROGRAM_LABELS, "step_label": svc.label, "outcome_label": svc.outcome_label, "errors": errors,
        "staff": staff, "grant": grant, "chosen": chosen,
        "chosen_names": [u.full_name or u.username for u in staff if u.id in chosen],
        "area": " / ".join(areas.names(session, codes=[case.area_code[:9], case.area_code]).values()),
        "proposal": applications.proposal_summary(case), "rules": rules, "today": clock.today(),
        "warnings": svc.calendar_for(case.area_code).warnings_for(case.accepted_on or clock.today(),
                                                                  case.extended_to or case.due_on or clock.today()),
        "tasks": [t for t, _ in inbox.open_tasks(session, actor=actor, case_id=case.id, limit=None)],  # all its own
        "enrollments": list(session.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id))),
        "vreq": vreq, "vtracks": verify_hook.tracking_for(session, case=case, request=vreq),
        "linked": session.get(Case, case.linked_case_id) if case.linked_case_id else None,
        "engine": consistency.engine_views(case), "override_labels": consistency.LEVEL_LABELS,
        "override_label": consistency.LEVEL_LABELS.get(rules.override_level, "") if rules else "",
    }
    return render(request, "cases/detail.html", ctx, status_code=status_code)


def _form_data(form: Any) -> dict[str, Any]:
    """The step form as the mapping its input model reads: `x[]` fields are lists, `op.<program>.<field>` opinions."""
    data: dict[str, Any] = {}
    for key in form:
        if key in {"csrf_token", "version", "action"}:
            continue
        values = form.getlist(key)
        if key.endswith("[]"):
            data[key[:-2]] = [v for v in values if str(v).strip()]
        elif key.startswith("op.") and key.count(".") == 2:  # op.<program>.<field>: per-program opinions
            _, program, fld = key.split(".")
            data.setdefault("opinions", {}).setdefault(program, {})[fld] = values[-1]
        else:
            data[key] = values[-1]
    return data


@router.post("/cases/{case_id}/steps/{step_key}")
def act(request: Request, case_id: int, step_key: str, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
        form: FormDep) -> Response:
    """Submit the active step's form."""
    try:
        data = steps.parse_input(step_key, _form_data(form))
        steps.act(session, actor=actor, case_id=case_id, step_key=step_key, action=str(form.get("action", "complete")),
                  data=data, version=int(str(form.get("version", "0"))))
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        if isinstance(exc, PermissionDenied):
            raise
        case = svc.get_case(session, actor=actor, case_id=case_id)
        return _detail(request, session, actor, case, _errors(exc), 409 if isinstance(exc, Conflict) else 422)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/accept")
def accept(request: Request, case_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
           version: Annotated[int, Form()]) -> Response:
    """受理."""
    try:
        applications.accept(session, actor=actor, case_id=case_id, version=version)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _detail(request, session, actor, svc.get_case(session, actor=actor, case_id=case_id), _errors(exc), 409)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/return")
def return_case(request: Request, case_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                version: Annotated[int, Form()], missing: Annotated[str, Form()]) -> Response:
    """Ask the applicant for the missing materials, once and in full."""
    applications.return_for_completion(session, actor=actor, case_id=case_id, missing=missing, version=version)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/extend")
def extend(request: Request, case_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
           version: Annotated[int, Form()], reason: Annotated[str, Form()]) -> Response:
    """Extend the deadline with a reason."""
    try:
        applications.extend(session, actor=actor, case_id=case_id, reason=reason, version=version)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _detail(request, session, actor, svc.get_case(session, actor=actor, case_id=case_id), _errors(exc), 409)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/documents")
def upload(request: Request, case_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
           kind: Annotated[str, Form()], file: DocumentUpload) -> Response:
    """Attach a document."""
    try:
        documents.upload(session, actor=actor, case_id=case_id, kind=kind, filename=file.filename,
                         data=file.check())
    except ValidationFailed as exc:
        session.rollback()
        return _detail(request, session, actor, svc.get_case(session, actor=actor, case_id=case_id), exc.errors, 422)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}#documents", status_code=303)


@router.get("/documents/{document_id}")
def download(document_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Download a document of a case in the user's area."""
    doc, data = documents.fetch(session, actor=actor, document_id=document_id)
    session.commit()
    how = "inline" if documents.shown_inline(data, doc.content_type) else "attachment"
    return Response(data, media_type=doc.content_type,
                    headers={"Content-Disposition": f'{how}; filename="document-{doc.id}"'})


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(notice_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Print a notice."""
    notice = notices.get_notice(session, actor=actor, notice_id=notice_id)
    return Response(notices.pdf_for(notice), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{notice.number}.pdf"'})


@router.post("/tasks/{task_id}/done")
def task_done(task_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
              version: Annotated[int | None, Form()] = None) -> Response:
    """Close a follow-up task."""
    task = temporary.complete_task(session, actor=actor, task_id=task_id, version=version)
    session.commit()
    return RedirectResponse(f"/cases/{task.case_id}", status_code=303)


@router.get("/enrollments")
def enrollment_list(request: Request, session: SessionDep, actor: PageActor, program: str = "", status: str = "",
                    due: str = "", q: str = "", page: int = Query(1, ge=1)) -> Response:
    """Enrollments in the user's area, with reviews due."""
    actor.require("case.read")
    stmt = enrollments.scoped(select(Enrollment), actor)
    if program:
        stmt = stmt.where(Enrollment.program == program)
    if status:
        stmt = stmt.where(Enrollment.status == status)
    if due:
        stmt = stmt.where(Enrollment.next_review_on <= clock.today())
    if q:
        stmt = stmt.where(Enrollment.household_id.in_(select(Household.id).where(Household.household_no == q.strip())))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Enrollment.next_review_on).limit(20).offset((page - 1) * 20)))
    hh = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_([e.household_id for e in rows])))}
    return render(request, "cases/enrollments.html", {"rows": rows, "total": total, "page": page, "hh": hh,
                                                      "pages": max(1, -(-total // 20)), "labels": PROGRAM_LABELS,
                                                      "f": {"program": program, "status": status, "due": due,
                                                            "q": q}})


@router.get("/enrollments/{enrollment_id}")
def enrollment_detail(request: Request, enrollment_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One enrollment: amount, review schedule, history, and the review form."""
    e = enrollments.get_enrollment(session, actor=actor, enrollment_id=enrollment_id)
    return render(request, "cases/enrollment.html", {"e": e, "changes": enrollments.changes_of(session, enrollment=e),
                                                     "labels": PROGRAM_LABELS, "errors": [],
                                                     "notices": enrollments.notices_of(session, enrollment=e),
                                                     "hh": session.get(Household, e.household_id)})


@router.post("/enrollments/{enrollment_id}/review")
def enrollment_review(request: Request, enrollment_id: int, session: SessionDep, actor: PageActor,
                      _csrf: CsrfChecked, version: Annotated[int, Form()], outcome: Annotated[str, Form()],
                      reason: Annotated[str, Form()] = "", new_amount: Annotated[str, Form()] = "",
                      months: Annotated[str, Form()] = "") -> Response:
    """Record a review or a change."""
    try:
        enrollments.review(session, actor=actor, enrollment_id=enrollment_id, version=version, outcome=outcome,
                           reason=reason, new_amount=new_amount or None, months=int(months) if months else None,
                           today=clock.today())
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        e = enrollments.get_enrollment(session, actor=actor, enrollment_id=enrollment_id)
        ctx = {"e": e, "changes": enrollments.changes_of(session, enrollment=e), "labels": PROGRAM_LABELS,
               "errors": _errors(exc), "hh": session.get(Household, e.household_id),
               "notices": enrollments.notices_of(session, enrollment=e)}
        return render(request, "cases/enrollment.html", ctx, status_code=422)
    session.commit()
    return RedirectResponse(f"/enrollments/{enrollment_id}", status_code=303)


@router.post("/enrollment-changes/{change_id}/objection")
def termination_objection(change_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                          content: Annotated[str, Form()], version: Annotated[int | None, Form()] = None) -> Response:
    """Record an objection to a termination under 公示."""
    change = enrollments.object_to_termination(session, actor=actor, change_id=change_id, content=content,
                                               version=version)
    session.commit()
    return RedirectResponse(f"/enrollments/{change.enrollment_id}", status_code=303)


@router.post("/cases/{case_id}/withdraw")
def withdraw(case_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
             version: Annotated[int, Form()], reason: Annotated[str, Form()]) -> Response:
    """Withdraw an application at the applicant's request."""
    case = svc.get_case(session, actor=actor, case_id=case_id, action="case.create")
    applications.withdraw(session, case=case, actor=actor, reason=reason, version=version)
    session.commit()
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/notices/{notice_id}/served")
def notice_served(notice_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                  on: Annotated[str, Form()] = "", version: Annotated[int | None, Form()] = None) -> Response:
    """Record that a notice was served on the applicant."""
    notice = notices.mark_served(session, actor=actor, notice_id=notice_id,
                                 on=date.fromisoformat(on) if on else clock.today(), version=version)
    session.commit()
    target = f"/cases/{notice.case_id}" if notice.case_id else f"/enrollments/{notice.enrollment_id}"
    return RedirectResponse(target, status_code=303)
