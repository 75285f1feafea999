"""Console forms that change the registry: new household, corrections, members, facts, history and undo."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.core.masking import mask_record
from doudi.deps import CsrfChecked, FormDep, PageActor, SessionDep
from doudi.registry import service, writes
from doudi.registry.schemas import FactCreate, HouseholdCreate, HouseholdUpdate, MemberCreate, PersonUpdate
from doudi.registry.vocab import (
    AssetKind,
    ChildStatus,
    DisabilityCategory,
    Employment,
    ExpenseKind,
    IncomeKind,
    LabourCapacity,
    Relation,
    SchoolingStage,
    SupportMode,
)
from doudi.web.render import render

router = APIRouter(include_in_schema=False)

VOCAB = {
    "relations": [r.value for r in Relation],
    "disability": [d.value for d in DisabilityCategory],
    "labour": [v.value for v in LabourCapacity],
    "employment": [v.value for v in Employment],
    "income": [v.value for v in IncomeKind],
    "asset": [v.value for v in AssetKind],
    "expense": [v.value for v in ExpenseKind],
    "schooling": [v.value for v in SchoolingStage],
    "support_mode": [v.value for v in SupportMode],
    "child_status": [v.value for v in ChildStatus],
}
PERSON_FLAGS = ("serious_illness", "student", "no_civil_capacity", "extreme_poverty_supported", "dibao_recipient")


def _form_errors(exc: ValidationError | ValidationFailed | Conflict) -> list[FieldError]:
    if isinstance(exc, ValidationError):
        return [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    if isinstance(exc, Conflict):
        return [FieldError("version", str(exc))]
    return exc.errors


def _clean(form: Any) -> dict[str, Any]:
    # Empty form fields mean "not given", so optional model fields keep their defaults.
    return {k: v for k, v in form.items() if k != "csrf_token" and v != ""}


@router.get("/households/new")
def new_household_form(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """Form to register a household with its head."""
    actor.require("household.create")
    villages = areas.subtree(session, area_code=actor.area_code, level="village")
    return render(request, "registry/new.html", {"villages": villages, "vocab": VOCAB, "errors": [], "form": {}})


@router.post("/households/new")
def new_household(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                  raw: FormDep) -> Response:
    """Create the household, then go to its page."""
    form = _clean(raw)
    head = {k.removeprefix("head_"): v for k, v in form.items() if k.startswith("head_")}
    try:
        data = HouseholdCreate(area_code=form.get("area_code", ""), address=form.get("address", ""),
                               hukou_type=form.get("hukou_type", ""), members=[MemberCreate(relation="head", **head)])
        hh = writes.create_household(session, actor=actor, data=data)
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        villages = areas.subtree(session, area_code=actor.area_code, level="village")
        return render(request, "registry/new.html", {"villages": villages, "vocab": VOCAB,
                                                     "errors": _form_errors(exc), "form": form}, status_code=422)
    session.commit()
    return RedirectResponse(f"/households/{hh.id}", status_code=303)


@router.get("/households/{household_id}/edit")
def edit_form(request: Request, household_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Forms to correct the household, its members, add members and facts."""
    actor.require("household.update")
    hh = service.get_household(session, actor=actor, household_id=household_id)
    return render(request, "registry/edit.html", {"hh": hh, "members": service.current_members(hh), "vocab": VOCAB,
                                                  "errors": [], "can_health": actor.can("household.unmask")})


def _apply(request: Request, session: Session, actor: Actor, household_id: int, op: str,
           raw: FormData) -> Response:
    form = _clean(raw)
    try:
        if op == "household":
            writes.update_household(session, actor=actor, household_id=household_id, data=HouseholdUpdate(**form))
        elif op.startswith("person:"):
            pid = int(op.split(":")[1])
            for flag in PERSON_FLAGS:
                form[flag] = form.get(flag) == "on"
            writes.update_person(session, actor=actor, household_id=household_id, person_id=pid,
                                 data=PersonUpdate(**form))
        elif op == "member":
            writes.add_member(session, actor=actor, household_id=household_id, data=MemberCreate(**form))
        elif op == "fact":
            writes.add_fact(session, actor=actor, household_id=household_id, data=FactCreate(**form))
    except (ValidationError, ValidationFailed, Conflict) as exc:
        session.rollback()
        hh = service.get_household(session, actor=actor, household_id=household_id)
        return render(request, "registry/edit.html", {"hh": hh, "members": service.current_members(hh),
                                                      "vocab": VOCAB, "errors": _form_errors(exc),
                                                      "can_health": actor.can("household.unmask")},
                      status_code=409 if isinstance(exc, Conflict) else 422)
    session.commit()
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@router.post("/households/{household_id}/edit")
def edit_household(request: Request, household_id: int, session: SessionDep, actor: PageActor,
                   _csrf: CsrfChecked, raw: FormDep) -> Response:
    """Save household corrections."""
    return _apply(request, session, actor, household_id, "household", raw)


@router.post("/households/{household_id}/members/{person_id}/edit")
def edit_member(request: Request, household_id: int, person_id: int, session: SessionDep,
                actor: PageActor, _csrf: CsrfChecked, raw: FormDep) -> Response:
    """Save a member's corrections."""
    return _apply(request, session, actor, household_id, f"person:{person_id}", raw)


@router.post("/households/{household_id}/members")
def add_member(request: Request, household_id: int, session: SessionDep, actor: PageActor,
               _csrf: CsrfChecked, raw: FormDep) -> Response:
    """Add a member."""
    return _apply(request, session, actor, household_id, "member", raw)


@router.post("/households/{household_id}/facts")
def add_fact(request: Request, household_id: int, session: SessionDep, actor: PageActor,
             _csrf: CsrfChecked, raw: FormDep) -> Response:
    """Record a declared or investigated fact."""
    return _apply(request, session, actor, household_id, "fact", raw)


@router.get("/households/{household_id}/history")
def history(request: Request, household_id: int, session: SessionDep, actor: PageActor) -> Response:
    """Every recorded change, with undo for corrections."""
    hh = service.get_household(session, actor=actor, household_id=household_id)
    revs = writes.revisions(session, actor=actor, household_id=household_id)
    masked = actor.can("household.unmask")
    rows = [(r, r.before if masked else mask_record(r.before), r.after if masked else mask_record(r.after))
            for r in revs]
    return render(request, "registry/history.html", {"hh": hh, "rows": rows, "errors": []})


@router.post("/revisions/{revision_id}/revert")
def revert(request: Request, revision_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked) -> Response:
    """Undo one correction."""
    rev = writes.revert(session, actor=actor, revision_id=revision_id)
    session.commit()
    return RedirectResponse(f"/households/{rev.household_id}/history", status_code=303)


@router.post("/households/{household_id}/members/{person_id}/end")
def end_member(request: Request, household_id: int, person_id: int, session: SessionDep, actor: PageActor,
               _csrf: CsrfChecked, reason: Annotated[str, Form()], on: Annotated[str, Form()] = "") -> Response:
    """A member leaves the household (moved out, married out, died); the membership is closed, not deleted."""
    try:
        when = date.fromisoformat(on) if on else None
        if not reason.strip():
            raise ValidationFailed([FieldError("reason", "须写明原因（迁出、婚出、死亡等）")])
        writes.end_membership(session, actor=actor, household_id=household_id, person_id=person_id,
                              reason=reason.strip(), on=when)
    except (ValueError, ValidationFailed) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else [FieldError("on", "日期格式应为 YYYY-MM-DD")]
        hh = service.get_household(session, actor=actor, household_id=household_id)
        return render(request, "registry/edit.html", {"hh": hh, "members": service.current_members(hh),
                                                      "vocab": VOCAB, "errors": errors,
                                                      "can_health": actor.can("household.unmask")}, status_code=422)
    session.commit()
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@router.post("/households/{household_id}/head")
def change_head(request: Request, household_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                person_id: Annotated[int, Form()], old_head_relation: Annotated[str, Form()]) -> Response:
    """户主变更."""
    try:
        writes.change_head(session, actor=actor, household_id=household_id, person_id=person_id,
                           old_head_relation=old_head_relation)
    except ValidationFailed as exc:
        session.rollback()
        hh = service.get_household(session, actor=actor, household_id=household_id)
        return render(request, "registry/edit.html", {"hh": hh, "members": service.current_members(hh),
                                                      "vocab": VOCAB, "errors": exc.errors,
                                                      "can_health": actor.can("household.unmask")}, status_code=422)
    session.commit()
    return RedirectResponse(f"/households/{household_id}", status_code=303)
