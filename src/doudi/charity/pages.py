"""Console pages of charity: the needs ledger (search, filters, paging, Excel), a need's detail with its proposals
and actions, raising a need, the partner register, the partner's workspace, consents and the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.cases.documents import MAX_BYTES
from doudi.charity import charts, consents, export, flows, partners, service
from doudi.charity.labels import (
    CONSENT_METHOD,
    CONSENT_STATUS,
    MATCH_STATUS,
    NEED_STATUS,
    OFFER,
    PARTNER_KIND,
    SOURCE,
    yuan,
)
from doudi.charity.schemas import NeedCreate, PartnerCreate
from doudi.core import clock, excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.deps import CsrfChecked, PageActor, SessionDep, Uploaded, upload_field
from doudi.registry.models import Household
from doudi.registry.panels import Panel, register
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import register_words, render

router = APIRouter(prefix="/charity", include_in_schema=False)
PER_PAGE = 30
FormUpload = Annotated[Uploaded, Depends(upload_field(max_bytes=MAX_BYTES))]

register_words({**NEED_STATUS, **OFFER, **SOURCE, **PARTNER_KIND, **CONSENT_METHOD, **CONSENT_STATUS,
                **MATCH_STATUS, "partner": "合作机构", "match": "匹配编号", "needs": "需求数", "proposed": "推荐数",
                "partners": "机构数", "sha256": "文件校验值", "purpose": "用途", "method": "方式",
                "amount_fen": "金额（分）", "delivered_fen": "实际金额（分）", "offers": "帮扶项目",
                "capacity": "承接能力", "answers_overdue": "逾期未答复", "deliveries_overdue": "逾期未帮扶",
                "expired": "已过期", "signed_by": "签字人", "contact": "联系人", "key": "机构代码"})
nav(NavItem("慈善衔接", "/charity/needs", "charity.manage"), before="/households")
nav(NavItem("合作机构", "/charity/partners", "charity.read"), before="/households")
nav(NavItem("慈善衔接统计", "/charity/dashboard", "charity.manage"), before="/households")
nav(NavItem("机构工作台", "/charity/workspace", "charity.respond"), before="/households")

LABELS = {"status_labels": NEED_STATUS, "kinds": OFFER, "sources": SOURCE, "match_labels": MATCH_STATUS,
          "partner_kinds": PARTNER_KIND, "consent_methods": CONSENT_METHOD, "consent_labels": CONSENT_STATUS,
          "yuan": yuan}


def _filters(status: str, kind: str, source: str, township: str, q: str, overdue: str) -> service.Filters:
    return service.Filters(status=status, kind=kind, source=source, township=township, q=q, overdue=overdue == "1")


def _fen(value: str, field: str) -> int | None:
    """Yuan typed on a form as integer fen (two decimals at most)."""
    text = value.strip()
    if not text:
        return None
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise ValidationFailed([FieldError(field, f"金额 {text!r} 应为元，最多两位小数")])
    return int(whole) * 100 + int((cents + "00")[:2])


@router.get("/needs")
def ledger(request: Request, session: SessionDep, actor: PageActor, status: str = "", kind: str = "",
           source: str = "", township: str = "", q: str = "", overdue: str = "",
           page: int = Query(1, ge=1)) -> Response:
    """The needs ledger (unmet ones stay visible); a partner sees only what was sent to it."""
    today = clock.today()
    f = _filters(status, kind, source, township, q, overdue)
    rows, total = service.list_needs(session, actor=actor, filters=f, today=today, page=page, per_page=PER_PAGE)
    towns = [] if actor.org_scoped else [
        (a.code, a.name) for a in areas.subtree(session, area_code=actor.area_code, level="township")]
    shown = service.shown_all(session, rows)
    names = partners.names(session, {n.partner_key for n in rows if n.partner_key})
    query = urlencode({"status": status, "kind": kind, "source": source, "township": township, "q": q,
                       "overdue": overdue})
    return render(request, "charity/needs.html", {
        **LABELS, "rows": shown, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)), "f": f,
        "towns": towns, "today": today, "base_query": query, "partner_names": names,
        "can_manage": actor.can("charity.manage"), "can_export": actor.can("charity.export"),
        "partner_view": actor.org_scoped})


@router.get("/needs/export.xlsx")
def ledger_export(session: SessionDep, actor: PageActor, status: str = "", kind: str = "", source: str = "",
                  township: str = "", q: str = "", overdue: str = "") -> Response:
    """The filtered ledger as Excel (contacts masked)."""
    f = _filters(status, kind, source, township, q, overdue)
    sheet = export.need_sheet(session, actor=actor, filters=f, today=clock.today())
    audit.record(session, actor=actor, action="charity.export", object_type="charity_export",
                 object_id=sum(1 for _ in sheet.rows), extra={"filters": f.__dict__})
    session.commit()
    return Response(excel.to_bytes(sheet), media_type=export.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="charity-needs.xlsx"'})


@router.post("/needs/match")
def match_run(session: SessionDep, actor: PageActor, _csrf: CsrfChecked) -> Response:
    """Propose partners for every need waiting in the actor's area."""
    n = service.propose(session, actor=actor, today=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/needs?status=proposed&proposed={n}", status_code=303)


@router.get("/needs/new")
def need_form(request: Request, session: SessionDep, actor: PageActor, household_id: int = 0,
              warning_id: int = 0) -> Response:
    """The form raising a need for a household (or from a monitoring warning)."""
    actor.require("charity.manage")
    return render(request, "charity/need_new.html", {**LABELS, "household_id": household_id or "",
                                                    "warning_id": warning_id or "", "errors": [],
                                                    "today": clock.today()})


@router.post("/needs/new")
def need_create(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                kind: Annotated[str, Form()], deadline: Annotated[str, Form()],
                household_id: Annotated[str, Form()] = "", warning_id: Annotated[str, Form()] = "",
                amount: Annotated[str, Form()] = "", size: Annotated[str, Form()] = "",
                description: Annotated[str, Form()] = "", source: Annotated[str, Form()] = "gap") -> Response:
    """Raise the need; errors are shown on the form."""
    today = clock.today()
    try:
        try:
            due = date.fromisoformat(deadline)
        except ValueError:
            raise ValidationFailed([FieldError("deadline", f"办理期限 {deadline!r} 应为日期")]) from None
        fen = _fen(amount, "amount_fen")
        if warning_id.strip().isdigit():
            need = flows.need_from_warning(session, actor=actor, warning_id=int(warning_id), kind=kind,
                                           amount_fen=fen, size=size, deadline=due, today=today)
        else:
            try:
                data = NeedCreate(household_id=int(household_id) if household_id.strip().isdigit() else 0,
                                  source=source, kind=kind, amount_fen=fen, size=size,
                                  description=description, deadline=due)
            except ValidationError as exc:
                raise ValidationFailed([FieldError(str(e["loc"][0]), "填写有误：请检查该项")
                                        for e in exc.errors()]) from None
            need = service.raise_need(session, actor=actor, data=data, today=today)
    except ValidationFailed as exc:
        session.rollback()
        return render(request, "charity/need_new.html", {
            **LABELS, "household_id": household_id, "warning_id": warning_id, "errors": exc.errors,
            "today": today}, status_code=422)
    session.commit()
    return RedirectResponse(f"/charity/needs/{need.id}", status_code=303)


@router.get("/needs/{need_id}")
def need_detail(request: Request, need_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One need: household contact (masked), consent, proposals with their answers, and the actions."""
    need = service.get_need(session, actor=actor, need_id=need_id)
    matches = service.matches_of(session, actor=actor, need=need)
    alternatives = [] if actor.org_scoped else service.alternatives(session, need=need).to_dicts()
    names = partners.names(session, {m.partner_key for m in matches} | {a["partner_key"] for a in alternatives})
    consent = consents.valid(session, household_id=need.household_id, purpose=need.kind)
    mine = next((m for m in matches if m.status in ("confirmed", "accepted")), None) if actor.org_scoped else None
    return render(request, "charity/need.html", {
        **LABELS, "n": service.shown_all(session, [need])[0], "need": need, "matches": matches,
        "alternatives": alternatives, "names": names, "consent": consent, "today": clock.today(),
        "can_manage": actor.can("charity.manage") and not actor.org_scoped,
        "can_respond": actor.can("charity.respond") and actor.org_scoped, "mine": mine,
        "area_names": areas.names(session, codes={need.area_code[:9]})})


@router.post("/needs/{need_id}")
def need_act(need_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
             action: Annotated[str, Form()], version: Annotated[int | None, Form()] = None,
             match_id: Annotated[int | None, Form()] = None, reason: Annotated[str, Form()] = "",
             delivered: Annotated[str, Form()] = "") -> Response:
    """Propose, confirm, reject, accept, decline, deliver or close."""
    flows.act(session, actor=actor, need_id=need_id, action=action, version=version, match_id=match_id,
              reason=reason, delivered_fen=_fen(delivered, "delivered_fen"), today=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/needs/{need_id}", status_code=303)


def _partner_page(request: Request, session: Session, actor: Actor, *, kind: str = "", offer: str = "", q: str = "",
                  errors: list[FieldError] | None = None, status_code: int = 200) -> Response:
    rows = partners.list_partners(session, actor=actor, kind=kind, offer=offer, q=q)
    return render(request, "charity/partners.html", {
        **LABELS, "rows": rows, "kind": kind, "offer": offer, "q": q, "errors": errors or [],
        "area_names": areas.names(session, codes={p.area_code for p in rows}),
        "can_manage": actor.can("charity.partners"), "can_export": actor.can("charity.export")},
        status_code=status_code)


def _capacity(text: str, offers: list[str]) -> dict[str, int]:
    """Capacity typed as one number for every offer, or “项目=数量” pairs (the offer's code or Chinese name)."""
    text = text.strip()
    if text.isdigit():
        return {o: int(text) for o in offers}
    by_name = {v: k for k, v in OFFER.items()}
    caps: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
        k, _, v = part.partition("=")
        if not v.strip().isdigit():
            raise ValidationFailed([FieldError("capacity", f"承接能力 {part!r} 应写成 项目=数量")])
        caps[by_name.get(k.strip(), k.strip())] = int(v)
    return caps


def _partner_data(*, key: str, name: str, kind: str, area_code: str, offers: list[str], capacity: str,
                  contact: str, phone: str, active: bool = True) -> PartnerCreate:
    try:
        return PartnerCreate(key=key, name=name, kind=kind, area_code=area_code, offers=offers,
                             capacity=_capacity(capacity, offers), contact=contact, phone=phone, active=active)
    except ValidationError as exc:
        raise ValidationFailed([FieldError(str(e["loc"][0]), f"{PARTNER_FIELDS.get(str(e['loc'][0]), '该项')}填写有误")
                                for e in exc.errors()]) from None


PARTNER_FIELDS = {"key": "机构代码", "name": "名称", "kind": "类型", "area_code": "服务区域", "offers": "帮扶项目",
                  "capacity": "承接能力", "contact": "联系人", "phone": "联系电话"}


@router.get("/partners")
def partner_list(request: Request, session: SessionDep, actor: PageActor, kind: str = "", offer: str = "",
                 q: str = "") -> Response:
    """The partner register: kind, service area, offers and capacity; search by name, code or contact."""
    return _partner_page(request, session, actor, kind=kind, offer=offer, q=q)


@router.get("/partners/export.xlsx")
def partner_export(session: SessionDep, actor: PageActor) -> Response:
    """The partner register as Excel."""
    data = excel.to_bytes(export.partner_sheet(session, actor=actor))
    return Response(data, media_type=export.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="charity-partners.xlsx"'})


@router.post("/partners")
def partner_create(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   key: Annotated[str, Form()], name: Annotated[str, Form()], kind: Annotated[str, Form()],
                   area_code: Annotated[str, Form()], offers: Annotated[list[str], Form()] = [],  # noqa: B006
                   capacity: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "",
                   phone: Annotated[str, Form()] = "") -> Response:
    """Register a partner; capacity as “项目=数量” pairs or one number for every offer."""
    try:
        data = _partner_data(key=key, name=name, kind=kind, area_code=area_code, offers=offers, capacity=capacity,
                             contact=contact, phone=phone)
        partners.create(session, actor=actor, data=data)
    except ValidationFailed as exc:
        session.rollback()
        return _partner_page(request, session, actor, errors=exc.errors, status_code=422)
    session.commit()
    return RedirectResponse("/charity/partners", status_code=303)


def _partner_detail(request: Request, session: Session, actor: Actor, partner_id: int,
                    errors: list[FieldError] | None = None, status_code: int = 200) -> Response:
    p = partners.get(session, actor=actor, partner_id=partner_id)
    return render(request, "charity/partner.html", {
        **LABELS, "p": p, "errors": errors or [],
        "can_audit": actor.can("audit.read"),
        "area_name": areas.names(session, codes={p.area_code}).get(p.area_code, p.area_code),
        "capacity_text": "，".join(f"{OFFER.get(k, k)}={v}" for k, v in (p.capacity or {}).items()),
        "can_manage": actor.can("charity.partners")}, status_code=status_code)


@router.get("/partners/{partner_id}")
def partner_detail(request: Request, partner_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One partner: its details, offers and capacity, the edit form and a link to its audit trail."""
    return _partner_detail(request, session, actor, partner_id)


@router.post("/partners/{partner_id}")
def partner_update(request: Request, partner_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   version: Annotated[int, Form()], name: Annotated[str, Form()], kind: Annotated[str, Form()],
                   area_code: Annotated[str, Form()], offers: Annotated[list[str], Form()] = [],  # noqa: B006
                   capacity: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "",
                   phone: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "") -> Response:
    """Change a partner's details, offers, capacity, or stop/restart it; a stale form is refused (409)."""
    try:
        key = partners.get(session, actor=actor, partner_id=partner_id).key
        data = _partner_data(key=key, name=name, kind=kind, area_code=area_code, offers=offers, capacity=capacity,
                             contact=contact, phone=phone, active=active == "1")
        partners.update(session, actor=actor, partner_id=partner_id, version=version, data=data)
    except ValidationFailed as exc:
        session.rollback()
        return _partner_detail(request, session, actor, partner_id, errors=exc.errors, status_code=422)
    session.commit()
    return RedirectResponse(f"/charity/partners/{partner_id}", status_code=303)


@router.get("/workspace")
def workspace(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """The partner's workspace: needs sent to it, waiting for its answer or its result."""
    actor.require("charity.respond")
    today = clock.today()
    groups = []
    for status in ("matched", "accepted", "escalated", "delivered"):
        rows, _ = service.list_needs(session, actor=actor, filters=service.Filters(status=status), today=today,
                                     per_page=100)
        groups.append((status, service.shown_all(session, rows)))
    return render(request, "charity/workspace.html", {**LABELS, "groups": groups, "today": today})


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """Needs raised, matched and met by kind and township; partners' response rates."""
    actor.require("charity.read")
    return render(request, "charity/dashboard.html", {"charts": charts.charts(session, actor, clock.today())})


@router.post("/households/{household_id}/consents")
def consent_upload(request: Request, household_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   file: FormUpload, purpose: Annotated[str, Form()], signed_by: Annotated[str, Form()] = "",
                   given_on: Annotated[str, Form()] = "") -> Response:
    """Record a signed consent form for the household."""
    try:
        day = date.fromisoformat(given_on) if given_on else clock.today()
    except ValueError:
        raise ValidationFailed([FieldError("given_on", f"签署日期 {given_on!r} 应为日期")]) from None
    consents.record_form(session, actor=actor, household_id=household_id, purpose=purpose, signed_by=signed_by,
                         given_on=day, filename=file.filename, data=file.check())
    session.commit()
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@router.post("/consents/{consent_id}/withdraw")
def consent_withdraw(consent_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                     reason: Annotated[str, Form()] = "", version: Annotated[int | None, Form()] = None) -> Response:
    """Withdraw a consent on the household's word."""
    actor.require("charity.consent")
    c = consents.get(session, actor=actor, consent_id=consent_id)
    consents.withdraw(session, actor=actor, consent=c, version=version, reason=reason, today=clock.today())
    session.commit()
    return RedirectResponse(f"/households/{c.household_id}", status_code=303)


@register
def household_panel(session: Session, actor: Actor, household: Household) -> Panel | None:
    """The household's consents (with upload and withdrawal) and its needs."""
    if not actor.can("charity.read") or actor.org_scoped:
        return None
    return Panel("慈善衔接", "charity/_panel.html", {
        **LABELS, "household_id": household.id,
        "consents": consents.for_household(session, actor=actor, household_id=household.id),
        "needs": service.for_household(session, actor=actor, household_id=household.id),
        "can_consent": actor.can("charity.consent"), "can_manage": actor.can("charity.manage")})
