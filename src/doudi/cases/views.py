"""Case workflow JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from doudi.cases import (
    applications,
    documents,
    enrollments,
    inbox,
    notices,
    steps,
    temporary,
)
from doudi.cases import service as svc
from doudi.cases.models import Case
from doudi.cases.schemas import ApplicationCreate, CaseRead, StepAction
from doudi.core import clock
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, ReadSessionDep, SessionDep, Uploaded, upload_field

router = APIRouter(tags=["cases"])
# Read under the size cap before the route runs, so the route is a plain function off the event loop.
DocumentUpload = Annotated[Uploaded, Depends(upload_field(max_bytes=documents.MAX_BYTES))]


def case_read(case: Case) -> CaseRead:
    """Serialise a case with its steps and decisions."""
    active = svc.active_step(case)
    return CaseRead(
        id=case.id, case_no=case.case_no, kind=case.kind, status=case.status, area_code=case.area_code,
        household_id=case.household_id, programs=list(case.programs), channel=case.channel,
        applicant_name=case.applicant_name, delegated=case.delegated, accepted_on=case.accepted_on,
        due_on=case.due_on, extended_to=case.extended_to, version=case.version,
        active_step=active.key if active else None, active_step_due=active.due_on if active else None,
        steps=[{"key": s.key, "label": svc.label(s.key), "round": s.round, "status": s.status, "level": s.level,
                "due_on": s.due_on, "due_at": s.due_at, "outcome": s.outcome} for s in case.steps],
        decisions=[{"program": d.program, "proposal": d.proposal, "outcome": d.outcome,
                    "monthly_amount": str(d.monthly_amount), "reasons": d.reasons} for d in case.decisions],
        submitted_at=case.submitted_at,
    )


class Versioned(BaseModel):
    """A body carrying the case version the caller saw."""

    version: int


class ExtendIn(Versioned):
    """Extension request."""

    reason: str = Field(min_length=4, max_length=200)


class ReturnIn(Versioned):
    """Materials missing."""

    missing: str = Field(min_length=2, max_length=500)


class ReviewIn(BaseModel):
    """An enrollment review or change."""

    version: int
    outcome: str
    reason: str
    new_amount: str | None = None
    months: int | None = None


@router.post("/cases", response_model=CaseRead, status_code=201)
def create_case(body: ApplicationCreate, actor: ApiActor, session: SessionDep,
                accept: bool = Query(False, description="同时受理")) -> CaseRead:
    """Register an application (optionally accepting it at once)."""
    case = applications.submit(session, actor=actor, data=body)
    if accept:
        case = applications.accept(session, actor=actor, case_id=case.id)
    session.commit()
    return case_read(case)


@router.get("/cases", response_model=dict[str, Any])
def list_cases(actor: ApiActor, session: ReadSessionDep, q: str = "", status: str = "", program: str = "",
               area_code: str = "", step: str = "", overdue: bool = False, page: int = Query(1, ge=1, le=MAX_PAGE),
               per_page: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
    """Cases in the caller's area, filtered and paginated."""
    f = svc.CaseFilter(q=q, status=status, program=program, area_code=area_code, step=step, overdue=overdue)
    rows, total = svc.list_cases(session, actor=actor, filters=f, page=page, per_page=per_page)
    return {"items": [case_read(c).model_dump(mode="json") for c in rows], "total": total, "page": page}


@router.get("/cases/{case_id}", response_model=CaseRead)
def get_case(case_id: Id, actor: ApiActor, session: ReadSessionDep) -> CaseRead:
    """One case; 404 outside the caller's area."""
    return case_read(svc.get_case(session, actor=actor, case_id=case_id))


@router.post("/cases/{case_id}/accept", response_model=CaseRead)
def accept(case_id: Id, body: Versioned, actor: ApiActor, session: SessionDep) -> CaseRead:
    """受理 an application: evaluate every program, plan the steps, start the clock."""
    case = applications.accept(session, actor=actor, case_id=case_id, version=body.version)
    session.commit()
    return case_read(case)


@router.post("/cases/{case_id}/return", response_model=CaseRead)
def return_case(case_id: Id, body: ReturnIn, actor: ApiActor, session: SessionDep) -> CaseRead:
    """Tell the applicant, once and in full, which materials are missing."""
    case = applications.return_for_completion(session, actor=actor, case_id=case_id, missing=body.missing,
                                              version=body.version)
    session.commit()
    return case_read(case)


def _step_route(step: steps.base.Step) -> None:
    """One route per step, so that the API docs show each step's own fields."""
    def act_on_step(case_id: Id, body: StepAction[Any], actor: ApiActor, session: SessionDep) -> CaseRead:
        case = steps.act(session, actor=actor, case_id=case_id, step_key=step.key, action=body.action,
                         data=body.data, version=body.version)
        session.commit()
        return case_read(case)

    act_on_step.__annotations__["body"] = StepAction[step.model]  # type: ignore[name-defined]
    router.add_api_route(f"/cases/{{case_id}}/steps/{step.key}", act_on_step, methods=["POST"],
                         response_model=CaseRead, name=f"act_{step.key}", summary=f"办理：{svc.label(step.key)}",
                         description=(step.model.__doc__ or "") + "\n\n409：该环节不是当前环节，或 version 已过期。")


for _step in steps.STEPS.values():
    _step_route(_step)


@router.post("/cases/{case_id}/steps/{step_key}", response_model=CaseRead)
def act(case_id: Id, step_key: str, body: StepAction[dict[str, Any]], actor: ApiActor,
        session: SessionDep) -> CaseRead:
    """Act on a step that takes no input of its own (409 if the step is not active or `version` is stale)."""
    case = steps.act(session, actor=actor, case_id=case_id, step_key=step_key, action=body.action,
                     data=body.data, version=body.version)
    session.commit()
    return case_read(case)


@router.post("/cases/{case_id}/extend", response_model=CaseRead)
def extend(case_id: Id, body: ExtendIn, actor: ApiActor, session: SessionDep) -> CaseRead:
    """Extend the deadline to 45 working days with a recorded reason."""
    case = applications.extend(session, actor=actor, case_id=case_id, reason=body.reason, version=body.version)
    session.commit()
    return case_read(case)


@router.post("/cases/{case_id}/documents", status_code=201)
def upload(case_id: Id, actor: ApiActor, session: SessionDep, kind: Annotated[str, Form()],
           file: DocumentUpload) -> dict[str, Any]:
    """Attach a PDF, PNG or JPEG (≤ 10 MB, multipart field `file`) to the case."""
    doc = documents.upload(session, actor=actor, case_id=case_id, kind=kind, filename=file.filename,
                           data=file.check())
    session.commit()
    return {"id": doc.id, "sha256": doc.sha256, "size": doc.size, "content_type": doc.content_type}


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(notice_id: Id, actor: ApiActor, session: SessionDep) -> Response:
    """A decision or rejection notice as PDF."""
    notice = notices.get_notice(session, actor=actor, notice_id=notice_id)
    return Response(notices.pdf_for(notice), media_type="application/pdf")


@router.get("/inbox", response_model=dict[str, Any])
def get_inbox(actor: ApiActor, session: ReadSessionDep, only: str = "",
              page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, Any]:
    """The caller's work, most urgent first, with near-due and overdue counts."""
    rows, total, counts = inbox.inbox(session, actor=actor, only=only, page=page)
    return {"items": [r.__dict__ for r in rows], "total": total, "counts": counts}


@router.get("/inbox/overdue", response_model=dict[str, Any])
def overdue(actor: ApiActor, session: ReadSessionDep) -> dict[str, Any]:
    """Every overdue step in the caller's area (督办, permission case.escalate)."""
    rows = inbox.overdue_all(session, actor=actor)
    return {"items": [r.__dict__ for r in rows], "total": len(rows)}


@router.post("/tasks/{task_id}/done", status_code=204)
def task_done(task_id: Id, actor: ApiActor, session: SessionDep,
              version: int | None = Query(None, ge=1, description="the task's version as last seen")) -> None:
    """Mark a follow-up task done (409 when it is done already or changed since)."""
    temporary.complete_task(session, actor=actor, task_id=task_id, version=version)
    session.commit()


@router.post("/enrollments/{enrollment_id}/review", response_model=dict[str, Any])
def review(enrollment_id: Id, body: ReviewIn, actor: ApiActor, session: SessionDep) -> dict[str, Any]:
    """Record a review, an increase or reduction, a gradual exit or a termination."""
    change = enrollments.review(session, actor=actor, enrollment_id=enrollment_id, version=body.version,
                                outcome=body.outcome, reason=body.reason, new_amount=body.new_amount,
                                months=body.months, today=clock.today())
    session.commit()
    return {"change_id": change.id, "kind": change.kind, "status": change.status,
            "effective_month": change.effective_month.isoformat(), "new_amount": str(change.new_amount)}


class ObjectionIn(BaseModel):
    """An objection raised during a termination 公示."""

    content: str = Field(min_length=2, max_length=500)
    version: int | None = Field(None, ge=1, description="the termination's version as last seen")


@router.post("/enrollment-changes/{change_id}/objection", response_model=dict[str, Any])
def termination_objection(change_id: Id, body: ObjectionIn, actor: ApiActor, session: SessionDep) -> dict[str, Any]:
    """Record an objection to a termination under 公示: the termination is cancelled and the case re-examined."""
    change = enrollments.object_to_termination(session, actor=actor, change_id=change_id, content=body.content,
                                               version=body.version)
    session.commit()
    return {"change_id": change.id, "status": change.status}


class WithdrawIn(Versioned):
    """Withdrawing an application."""

    reason: str = Field(min_length=2, max_length=200)


@router.post("/cases/{case_id}/withdraw", response_model=CaseRead)
def withdraw(case_id: Id, body: WithdrawIn, actor: ApiActor, session: SessionDep) -> CaseRead:
    """Withdraw an application at the applicant's request (recorded with the reason)."""
    case = svc.get_case(session, actor=actor, case_id=case_id, action="case.create")
    applications.withdraw(session, case=case, actor=actor, reason=body.reason, version=body.version)
    session.commit()
    return case_read(case)
