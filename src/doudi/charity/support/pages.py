"""Console pages of support: one-to-one plans (visits, goals, training referrals, closure) and enterprise pairing
agreements with their pledged items and the overdue ones, each ledger with filters, paging and Excel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from doudi.charity.fund import forms
from doudi.charity.fund.labels import yuan
from doudi.charity.support import export, flows, pairing, service
from doudi.charity.support.labels import (
    GOAL_AREA_LABELS,
    GOAL_LABELS,
    ITEM_KIND_LABELS,
    ITEM_LABELS,
    PAIRING_LABELS,
    PLAN_LABELS,
    TRAINING_LABELS,
    WORDS,
)
from doudi.core import clock, excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.masking import mask_phone
from doudi.deps import CsrfChecked, FormDep, PageActor, SessionDep
from doudi.registry.models import Membership, Person
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import register_words, render

router = APIRouter(prefix="/charity/support", include_in_schema=False)
nav(NavItem("社工帮扶", "/charity/support/plans", "support.read"), before="/audit")
nav(NavItem("签约帮扶", "/charity/support/pairings", "support.read"), before="/audit")
register_words(WORDS)
PER_PAGE = 20
T = "charity/support/"


def _ctx() -> dict[str, Any]:
    return {"yuan": yuan, "plan_labels": PLAN_LABELS, "goal_areas": GOAL_AREA_LABELS, "goal_labels": GOAL_LABELS,
            "training_labels": TRAINING_LABELS, "pairing_labels": PAIRING_LABELS, "item_labels": ITEM_LABELS,
            "item_kinds": ITEM_KIND_LABELS, "mask_phone": mask_phone}


def _xlsx(data: bytes, name: str) -> Response:
    return Response(data, media_type=excel.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/plans")
def plans(request: Request, session: SessionDep, actor: PageActor, status: str = "", q: str = "",
          page: int = Query(1, ge=1)) -> Response:
    """The plan ledger with the visits overdue marked."""
    p = service.list_plans(session, actor=actor, status=status, q=q.strip(), page=page, per_page=PER_PAGE)
    today = clock.today()
    rows = [(plan, last, hh_no, plan.status == "open" and service.visit_overdue(
        last, plan.opened_on, area=plan.area_code, today=today)) for plan, last, hh_no in p.rows]
    return render(request, T + "plans.html", {
        **_ctx(), "rows": rows, "total": p.total, "page": page, "pages": forms.pages(p.total, PER_PAGE),
        "base_query": forms.query(status=status, q=q), "f": {"status": status, "q": q},
        "can_manage": actor.can("support.manage"), "can_export": actor.can("support.export"), "today": today})


@router.get("/plans/export.xlsx")
def plans_xlsx(session: SessionDep, actor: PageActor, status: str = "", q: str = "") -> Response:
    """The plan ledger as Excel."""
    return _xlsx(export.plans(session, actor=actor, status=status, q=q.strip(), today=clock.today()), "plans.xlsx")


@router.post("/plans")
def plan_open(session: SessionDep, actor: PageActor, _csrf: CsrfChecked, household_id: Annotated[int, Form()],
              worker_name: Annotated[str, Form()], opened_on: Annotated[str, Form()],
              goal_area: Annotated[list[str], Form()], goal_target: Annotated[list[str], Form()],
              worker_phone: Annotated[str, Form()] = "", partner_key: Annotated[str, Form()] = "",
              need_id: Annotated[str, Form()] = "") -> Response:
    """Open a plan with its goals (the empty goal rows of the form are skipped)."""
    goals = [(a, t) for a, t in zip(goal_area, goal_target, strict=False) if t.strip()]
    plan = service.open_plan(session, actor=actor, household_id=household_id, worker_name=worker_name, goals=goals,
                             opened_on=forms.day(opened_on, "opened_on", "开始日期"), worker_phone=worker_phone,
                             partner_key=partner_key, need_id=forms.optional_int(need_id, "need_id", "需求编号"))
    session.commit()
    return RedirectResponse(f"/charity/support/plans/{plan.id}", status_code=303)


@router.get("/plans/{plan_id}")
def plan_page(request: Request, plan_id: int, session: SessionDep, actor: PageActor) -> Response:
    """A plan: goals, visits, training referrals and the forms to move it on."""
    plan = service.get_plan(session, actor=actor, plan_id=plan_id)
    members = [(int(i), str(n)) for i, n in session.execute(select(Person.id, Person.name).join(
        Membership, Membership.person_id == Person.id).where(Membership.household_id == plan.household_id,
                                                              Membership.valid_to.is_(None)))]
    names = dict(members)
    return render(request, T + "plan.html", {
        **_ctx(), "plan": plan, "goals": service.goals_of(session, plan.id),
        "visits": service.visits_of(session, plan.id),
        "trainings": service.trainings_of(session, plan.id), "members": members, "names": names,
        "can_manage": actor.can("support.manage") and plan.status == "open", "today": clock.today()})


@router.post("/plans/{plan_id}/visits")
def plan_visit(plan_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked, form: FormDep) -> Response:
    """Record a visit and each goal's progress (fields goal_<id> and progress_<id>)."""
    progress: dict[int, tuple[str, str]] = {}
    for key, value in form.items():
        if key.startswith("goal_") and key[5:].isdigit() and str(value):
            progress[int(key[5:])] = (str(value), str(form.get(f"progress_{key[5:]}", "")))
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        raise ValidationFailed([FieldError("version", "缺少版本号，请刷新页面")]) from None
    service.record_visit(session, actor=actor, plan_id=plan_id, version=version,
                         visited_on=forms.day(str(form.get("visited_on", "")), "visited_on", "走访日期"),
                         visitor=str(form.get("visitor", "")), notes=str(form.get("notes", "")),
                         progress=progress, today=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/support/plans/{plan_id}", status_code=303)


@router.post("/plans/{plan_id}/trainings")
def plan_training(plan_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                  person_id: Annotated[int, Form()], course: Annotated[str, Form()],
                  partner_key: Annotated[str, Form()] = "") -> Response:
    """Refer a member to 社工+家政 training."""
    service.refer_training(session, actor=actor, plan_id=plan_id, person_id=person_id, course=course,
                           referred_on=clock.today(), partner_key=partner_key)
    session.commit()
    return RedirectResponse(f"/charity/support/plans/{plan_id}", status_code=303)


@router.post("/trainings/{training_id}/outcome")
def training_outcome(training_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                     version: Annotated[int, Form()], outcome: Annotated[str, Form()],
                     employer: Annotated[str, Form()] = "", wage: Annotated[str, Form()] = "") -> Response:
    """Record a training's outcome (employment raises the 渐退 review)."""
    t = flows.record_outcome(session, actor=actor, training_id=training_id, version=version, outcome=outcome,
                             on=clock.today(), employer=employer,
                             monthly_wage_fen=forms.fen(wage, "wage", "月工资") if wage.strip() else None)
    session.commit()
    return RedirectResponse(f"/charity/support/plans/{t.plan_id}", status_code=303)


@router.post("/plans/{plan_id}/close")
def plan_close(plan_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
               version: Annotated[int, Form()], closure: Annotated[str, Form()]) -> Response:
    """Close a plan."""
    service.close_plan(session, actor=actor, plan_id=plan_id, version=version, closure=closure,
                       closed_on=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/support/plans/{plan_id}", status_code=303)


@router.get("/pairings")
def pairings(request: Request, session: SessionDep, actor: PageActor, status: str = "", q: str = "",
             page: int = Query(1, ge=1)) -> Response:
    """Pairing agreements."""
    p = pairing.list_pairings(session, actor=actor, status=status, q=q.strip(), page=page, per_page=PER_PAGE)
    return render(request, T + "pairings.html", {
        **_ctx(), "rows": p.rows, "total": p.total, "page": page, "pages": forms.pages(p.total, PER_PAGE),
        "base_query": forms.query(status=status, q=q), "f": {"status": status, "q": q},
        "can_manage": actor.can("support.manage"), "can_export": actor.can("support.export"), "today": clock.today()})


@router.post("/pairings")
def pairing_sign(session: SessionDep, actor: PageActor, _csrf: CsrfChecked, partner_key: Annotated[str, Form()],
                 company_name: Annotated[str, Form()], household_id: Annotated[int, Form()],
                 pledge: Annotated[str, Form()], start_on: Annotated[str, Form()], end_on: Annotated[str, Form()],
                 item_kind: Annotated[list[str], Form()], item_description: Annotated[list[str], Form()],
                 item_due: Annotated[list[str], Form()], item_value: Annotated[list[str], Form()]) -> Response:
    """Record a signed agreement with its items (empty item rows skipped)."""
    start = forms.day(start_on, "start_on", "帮扶起日")
    items = [pairing.ItemIn(k, d, forms.day(due, "items", f"第 {i} 项约定日期"),
                            forms.fen(v, "items", f"第 {i} 项价值") if v.strip() else 0)
             for i, (k, d, due, v) in enumerate(zip(item_kind, item_description, item_due, item_value, strict=False),
                                                start=1) if d.strip()]
    g = pairing.sign(session, actor=actor, partner_key=partner_key, company_name=company_name,
                     household_id=household_id, pledge=pledge, signed_on=clock.today(), start_on=start,
                     end_on=forms.day(end_on, "end_on", "帮扶止日"), items=items)
    session.commit()
    return RedirectResponse(f"/charity/support/pairings/{g.id}", status_code=303)


@router.get("/pairings/{pairing_id}")
def pairing_page(request: Request, pairing_id: int, session: SessionDep, actor: PageActor) -> Response:
    """An agreement and its items, with delivery."""
    g = pairing.get_pairing(session, actor=actor, pairing_id=pairing_id)
    today = clock.today()
    cutoff = pairing.overdue_cutoff(g.area_code, today)
    return render(request, T + "pairing.html", {
        **_ctx(), "g": g, "items": pairing.items_of(session, g.id), "cutoff": cutoff,
        "can_manage": actor.can("support.manage"), "today": today})


@router.post("/items/{item_id}/deliver")
def item_deliver(item_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 version: Annotated[int, Form()], delivered_on: Annotated[str, Form()],
                 note: Annotated[str, Form()]) -> Response:
    """Record an item as delivered."""
    it = pairing.deliver(session, actor=actor, item_id=item_id, version=version,
                         delivered_on=forms.day(delivered_on, "delivered_on", "兑现日期"), note=note,
                         today=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/support/pairings/{it.pairing_id}", status_code=303)


@router.get("/items")
def items(request: Request, session: SessionDep, actor: PageActor, overdue: str = "", q: str = "",
          page: int = Query(1, ge=1)) -> Response:
    """Pledged items of every agreement in scope; `overdue=1` keeps the overdue ones."""
    today = clock.today()
    p = pairing.list_items(session, actor=actor, today=today, overdue=overdue == "1", q=q.strip(), page=page,
                           per_page=PER_PAGE)
    return render(request, T + "items.html", {
        **_ctx(), "rows": p.rows, "total": p.total, "page": page, "pages": forms.pages(p.total, PER_PAGE),
        "base_query": forms.query(overdue=overdue, q=q), "f": {"overdue": overdue, "q": q},
        "can_export": actor.can("support.export"), "today": today})


@router.get("/items/export.xlsx")
def items_xlsx(session: SessionDep, actor: PageActor, overdue: str = "", q: str = "") -> Response:
    """Pledged items as Excel."""
    return _xlsx(export.items(session, actor=actor, today=clock.today(), overdue=overdue == "1", q=q.strip()),
                 "pairing-items.xlsx")
