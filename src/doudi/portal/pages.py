"""The citizen portal at /m/: phone sign-in, apply (for oneself or on someone's behalf), upload, track."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.cases import applications, documents
from doudi.cases import service as svc
from doudi.cases.models import CaseStatus
from doudi.cases.notices import PROGRAM_LABELS
from doudi.cases.schemas import ApplicationCreate
from doudi.cases.verify_hook import tracking_for
from doudi.core.errors import DoudiError, FieldError, ValidationFailed
from doudi.deps import SessionDep, SettingsDep, Uploaded, client_ip, upload_field
from doudi.payments import service as pay
from doudi.portal import service
from doudi.portal.models import CitizenSession
from doudi.web.forms import row_indices
from doudi.web.render import templates

router = APIRouter(prefix="/m", include_in_schema=False)
COOKIE = "doudi_citizen"
PHONE_COOKIE = "doudi_otp_phone"
# The bank's answer in a citizen's words (a held line is waiting for a confirmed account).
CITIZEN_OUTCOMES = {"pending": "发放中", "paid": "已到账", "rejected": "未到账（银行退回），将重新发放",
                    "returned": "未到账（银行退回），将重新发放", "no_account": "暂缓发放：请到乡镇核实银行账户"}
AUTHORISE_ALL = "每位家庭成员都须同意授权核对家庭经济状况（审核确认办法第九条）"


def _page(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, f"m/{name}", ctx, status_code=status_code)


def citizen(request: Request, session: SessionDep) -> CitizenSession:
    """The signed-in citizen, or a redirect to the sign-in page."""
    token = request.cookies.get(COOKIE, "")
    cs = service.resolve(session, token=token) if token else None
    if cs is None:
        raise HTTPException(status_code=303, headers={"Location": "/m/login"})
    return cs


Citizen = Annotated[CitizenSession, Depends(citizen)]


async def citizen_form(request: Request, cs: Citizen) -> FormData:
    """The posted form of a signed-in citizen, after its CSRF token is checked (parsed on the event loop)."""
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf_token", "")), cs.csrf_token):
        raise HTTPException(status_code=403, detail="页面已过期，请刷新后重试")
    return form


CitizenForm = Annotated[FormData, Depends(citizen_form)]
DocumentUpload = Annotated[Uploaded, Depends(upload_field(max_bytes=documents.MAX_BYTES))]


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """My applications (or the sign-in page)."""
    token = request.cookies.get(COOKIE, "")
    cs = service.resolve(session, token=token) if token else None
    if cs is None:
        return RedirectResponse("/m/login", status_code=303)
    cases = service.my_cases(session, phone=cs.phone)
    return _page(request, "home.html", {"cs": cs, "cases": cases, "labels": PROGRAM_LABELS,
                                        "active": svc.active_step, "step_label": svc.label})


@router.get("/payments")
def my_payments(request: Request, session: SessionDep, cs: Citizen) -> Response:
    """The citizen's own payments: month, what for, amount and the bank's answer; accounts masked."""
    lines = pay.citizen_lines(session, household_ids=service.my_households(session, phone=cs.phone))
    return _page(request, "payments.html", {
        "cs": cs, "lines": lines, "labels": {**PROGRAM_LABELS, "price_subsidy": "价格临时补贴"},
        "components": pay.COMPONENT_LABELS, "outcomes": CITIZEN_OUTCOMES, "yuan": pay.yuan,
        "mask": pay.mask_account, "paid_total": pay.yuan(sum(x.amount_fen for x in lines if x.status == "paid"))})


@router.get("/login")
def login_form(request: Request, sent: int = 0) -> Response:
    """Phone number and one-time code."""
    phone = request.cookies.get(PHONE_COOKIE, "") if sent else ""
    return _page(request, "login.html", {"phone": phone, "sent": sent and bool(phone), "errors": []})


@router.post("/login/code")
def send_code(request: Request, session: SessionDep, settings: SettingsDep,
              phone: Annotated[str, Form()]) -> Response:
    """Send a one-time code."""
    try:
        service.send_code(session, settings=settings, phone=phone)
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, "login.html", {"phone": phone, "sent": 0, "errors": exc.errors}, 422)
    except DoudiError as exc:
        session.rollback()
        return _page(request, "login.html", {"phone": phone, "sent": 0,
                                             "errors": [FieldError("phone", str(exc))]}, 503)
    session.commit()
    # The number is not put in the address (it would end up in logs and browser history).
    resp = RedirectResponse("/m/login?sent=1", status_code=303)
    resp.set_cookie(PHONE_COOKIE, service.check_phone(phone), httponly=True, samesite="lax", max_age=600,
                    secure=settings.secure_cookies)
    return resp


@router.post("/login")
def login(request: Request, session: SessionDep, settings: SettingsDep, phone: Annotated[str, Form()],
          code: Annotated[str, Form()]) -> Response:
    """Check the code and sign in."""
    try:
        token, cs = service.verify_code(session, phone=phone, code=code)
    except ValidationFailed as exc:
        session.commit()  # keep the attempt count
        return _page(request, "login.html", {"phone": phone, "sent": 1, "errors": exc.errors}, 401)
    audit.record(session, actor=service.citizen_actor(cs.phone, ip=client_ip(request)), action="portal.login")
    session.commit()
    resp = RedirectResponse("/m/", status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                    max_age=service.SESSION_HOURS * 3600)
    return resp


@router.post("/logout")
def logout(request: Request, session: SessionDep, cs: Citizen, _form: CitizenForm) -> Response:
    """Sign out."""
    session.delete(cs)
    session.commit()
    resp = RedirectResponse("/m/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def _villages(session: Any) -> list[tuple[str, list[Area]]]:
    towns = {a.code: a.name for a in session.scalars(select(Area).where(Area.level == "township"))}
    groups: dict[str, list[Area]] = {}
    for v in session.scalars(select(Area).where(Area.level == "village").order_by(Area.code)):
        groups.setdefault(towns.get(v.code[:9], v.code[:9]), []).append(v)
    return list(groups.items())


@router.get("/apply")
def apply_form(request: Request, session: SessionDep, cs: Citizen, proxy: int = 0) -> Response:
    """The application form, for oneself or on someone's behalf."""
    return _page(request, "apply.html", {"cs": cs, "proxy": proxy, "groups": _villages(session), "errors": [],
                                         "form": {}, "labels": PROGRAM_LABELS})


def _members(form: Any) -> list[dict[str, Any]]:
    out = []
    for i in row_indices(form.keys()):
        name = str(form.get(f"m{i}_name", "")).strip()
        if not name:
            continue
        out.append({"name": name, "id_number": form.get(f"m{i}_id_number", ""),
                    "relation": form.get(f"m{i}_relation", "other"), "authorised": form.get(f"m{i}_authorised") == "on",
                    "monthly_income": {"wage": form.get(f"m{i}_wage") or 0, "business": form.get(f"m{i}_business") or 0,
                                       "transfer": form.get(f"m{i}_transfer") or 0}})
    return out


@router.post("/apply")
def apply(request: Request, session: SessionDep, cs: Citizen, form: CitizenForm) -> Response:
    """File the application; the township accepts it and the status can be followed at once."""
    proxy = form.get("for_whom") == "other"
    try:
        members = _members(form)
        if not all(m["authorised"] for m in members):
            raise ValidationFailed([FieldError("authorised", AUTHORISE_ALL)])
        data = ApplicationCreate.model_validate({
            "area_code": form.get("area_code") or None, "address": form.get("address", ""),
            "hukou_type": form.get("hukou_type") or None, "members": members,
            "programs": form.getlist("programs"), "channel": "proxy" if proxy else "applicant",
            "applicant_name": form.get("applicant_name", ""),
            "applicant_id_number": form.get("applicant_id_number", ""),
            "applicant_phone": form.get("applicant_phone", "") if proxy else cs.phone,
            "proxy_name": form.get("proxy_name", "") if proxy else "", "proxy_phone": cs.phone if proxy else "",
            "proxy_relation": form.get("proxy_relation", "") if proxy else "",
            "note": form.get("note", ""),
        })
        case = applications.submit(session, actor=service.citizen_actor(cs.phone, ip=client_ip(request)), data=data,
                                   portal_phone=cs.phone)
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else [
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        return _page(request, "apply.html", {"cs": cs, "proxy": int(proxy), "groups": _villages(session),
                                             "errors": errors, "form": dict(form), "labels": PROGRAM_LABELS}, 422)
    session.commit()
    return RedirectResponse(f"/m/cases/{case.id}", status_code=303)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, session: SessionDep, cs: Citizen) -> Response:
    """Step-by-step status of one of my applications (即时追踪)."""
    case = service.my_case(session, phone=cs.phone, case_id=case_id)
    return _page(request, "case.html", _case_ctx(session, cs, case, []))


def _case_ctx(session: Any, cs: CitizenSession, case: Any, errors: list[FieldError]) -> dict[str, Any]:
    return {"cs": cs, "case": case, "events": svc.timeline(session, case=case, public_only=True),
            "vtracks": tracking_for(session, case=case),
            "step_label": svc.label, "labels": PROGRAM_LABELS, "errors": errors,
            "docs": documents.documents_of(session, case=case), "kinds": documents.KINDS}


@router.post("/cases/{case_id}/documents")
def upload(request: Request, case_id: int, session: SessionDep, cs: Citizen, form: CitizenForm,
           file: DocumentUpload) -> Response:
    """Upload a document to my application."""
    case = service.my_case(session, phone=cs.phone, case_id=case_id)
    try:
        documents.attach(session, case=case, kind=str(form.get("kind", "other")), filename=file.filename,
                         data=file.check(), uploaded_by=service.citizen_actor(cs.phone).username)
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, "case.html", _case_ctx(session, cs, case, exc.errors), 422)
    if case.status == CaseStatus.NEEDS_INFO:  # the case first, then the audit chain: the lock order of every action
        applications.resubmit(session, case=case, actor=service.citizen_actor(cs.phone).username, note="已上传补充材料")
    audit.record(session, actor=service.citizen_actor(cs.phone), action="portal.document", object_type="case",
                 object_id=case.id, area_code=case.area_code)
    session.commit()
    return RedirectResponse(f"/m/cases/{case_id}", status_code=303)
