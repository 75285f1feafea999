"""The citizen's side of consent in the portal (/m/charity): see what is asked, confirm in writing for one
purpose, or withdraw — only for the citizen's own households, every step audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from doudi.charity import consents
from doudi.charity.labels import CONSENT_METHOD, CONSENT_STATUS, OFFER
from doudi.charity.models import Consent
from doudi.core import clock
from doudi.core.errors import FieldError, NotFound, ValidationFailed
from doudi.deps import SessionDep, client_ip
from doudi.portal import service as portal
from doudi.portal.pages import Citizen, CitizenForm
from doudi.registry.models import Household
from doudi.web.render import templates

router = APIRouter(prefix="/m/charity", include_in_schema=False)
CONFIRMATION = ("本人同意将本家庭的救助需求及必要的联系信息（身份证号、电话和健康、残疾信息默认脱敏）提供给"
                "民政部门推送的合作机构，仅用于所选帮扶项目；可随时撤回。")


def _page(request: Request, ctx: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, "m/charity.html", {
        "kinds": OFFER, "methods": CONSENT_METHOD, "labels": CONSENT_STATUS, "confirmation": CONFIRMATION, **ctx},
        status_code=status_code)


def _mine(session: Any, phone: str) -> list[int]:
    return portal.my_households(session, phone=phone)


@router.get("")
def consent_page(request: Request, session: SessionDep, cs: Citizen) -> Response:
    """The citizen's consents, per household and purpose."""
    mine = _mine(session, cs.phone)
    rows = [c for h in mine for c in consents.for_household(session, actor=None, household_id=h)]
    return _page(request, {"cs": cs, "households": mine, "rows": rows, "errors": []})


@router.post("")
def consent_confirm(request: Request, session: SessionDep, cs: Citizen, form: CitizenForm) -> Response:
    """Confirm consent for one purpose for one of the citizen's households."""
    mine = _mine(session, cs.phone)
    errors = []
    household = str(form.get("household_id", ""))
    purpose = str(form.get("purpose", ""))
    name = str(form.get("signed_by", "")).strip()
    if not household.isdigit() or int(household) not in mine:
        errors.append(FieldError("household_id", "请选择本人的家庭"))
    if form.get("agree") != "1":
        errors.append(FieldError("agree", "请勾选“本人同意”后再提交"))
    if not name:
        errors.append(FieldError("signed_by", "请填写本人姓名"))
    if not errors:
        hh = session.get(Household, int(household))
        try:
            if hh is None:
                raise NotFound(f"家庭 {household}")
            consents.record_portal(session, actor=portal.citizen_actor(cs.phone, ip=client_ip(request)),
                                   household=hh, purpose=purpose, signed_by=name, today=clock.today())
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        session.rollback()
        rows = [c for h in mine for c in consents.for_household(session, actor=None, household_id=h)]
        return _page(request, {"cs": cs, "households": mine, "rows": rows, "errors": errors}, status_code=422)
    session.commit()
    return RedirectResponse("/m/charity", status_code=303)


@router.post("/{consent_id}/withdraw")
def consent_withdraw(request: Request, consent_id: int, session: SessionDep, cs: Citizen, form: CitizenForm
                     ) -> Response:
    """Withdraw one of the citizen's own consents."""
    c = session.get(Consent, consent_id)
    if c is None or c.household_id not in _mine(session, cs.phone):
        raise NotFound(f"同意书 {consent_id}")
    consents.withdraw(session, actor=portal.citizen_actor(cs.phone, ip=client_ip(request)), consent=c,
                      version=None, reason=str(form.get("reason", "")) or "本人在群众端撤回", today=clock.today())
    session.commit()
    return RedirectResponse("/m/charity", status_code=303)
