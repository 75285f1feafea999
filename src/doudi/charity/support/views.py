"""The support JSON API under /api/v1/charity/support."""

from __future__ import annotations

from fastapi import APIRouter, Query

from doudi.charity.fund import forms
from doudi.charity.fund.labels import yuan
from doudi.charity.support import flows, pairing, service
from doudi.charity.support.schemas import DeliveryIn, OutcomeIn, PairingIn, PlanIn
from doudi.core import clock
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, SessionDep

router = APIRouter(prefix="/charity/support", tags=["charity"])


@router.get("/plans")
def plans(session: SessionDep, actor: ApiActor, status: str = "", q: str = "",
          page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Plans in scope with their last visit."""
    p = service.list_plans(session, actor=actor, status=status, q=q, page=page)
    return {"total": p.total, "page": page, "items": [
        {"id": x.id, "household_id": x.household_id, "household_no": hh_no, "area_code": x.area_code,
         "worker": x.worker_name, "status": x.status, "opened_on": x.opened_on.isoformat(),
         "last_visit": last.isoformat() if last else None, "version": x.version} for x, last, hh_no in p.rows]}


@router.post("/plans", status_code=201)
def open_plan(body: PlanIn, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Open a plan."""
    plan = service.open_plan(session, actor=actor, household_id=body.household_id, worker_name=body.worker_name,
                             goals=[(g.area, g.target) for g in body.goals], opened_on=body.opened_on,
                             worker_phone=body.worker_phone, partner_key=body.partner_key, need_id=body.need_id)
    session.commit()
    return {"id": plan.id, "status": plan.status, "version": plan.version}


@router.get("/plans/{plan_id}")
def get_plan(plan_id: Id, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """A plan with goals, visits and training referrals."""
    plan = service.get_plan(session, actor=actor, plan_id=plan_id)
    return {"id": plan.id, "household_id": plan.household_id, "worker": plan.worker_name, "status": plan.status,
            "version": plan.version,
            "goals": [{"id": g.id, "area": g.area, "target": g.target, "status": g.status, "progress": g.progress}
                      for g in service.goals_of(session, plan.id)],
            "visits": [{"on": v.visited_on.isoformat(), "visitor": v.visitor, "notes": v.notes}
                       for v in service.visits_of(session, plan.id)],
            "trainings": [{"id": t.id, "person_id": t.person_id, "course": t.course, "status": t.status,
                           "employer": t.employer, "review_warning_id": t.review_warning_id, "version": t.version}
                          for t in service.trainings_of(session, plan.id)]}


@router.post("/trainings/{training_id}/outcome")
def outcome(training_id: Id, body: OutcomeIn, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Record a training's outcome (employment raises the 渐退 review)."""
    t = flows.record_outcome(session, actor=actor, training_id=training_id, version=body.version,
                             outcome=body.outcome, on=clock.today(), employer=body.employer,
                             monthly_wage_fen=forms.fen(body.monthly_wage, "monthly_wage", "月工资")
                             if body.monthly_wage.strip() else None)
    session.commit()
    return {"id": t.id, "status": t.status, "review_warning_id": t.review_warning_id, "version": t.version}


@router.get("/pairings")
def pairings(session: SessionDep, actor: ApiActor, status: str = "", q: str = "",
             page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Pairing agreements in scope."""
    p = pairing.list_pairings(session, actor=actor, status=status, q=q, page=page)
    return {"total": p.total, "page": page, "items": [
        {"id": g.id, "partner_key": g.partner_key, "company": g.company_name, "household_id": g.household_id,
         "pledge": g.pledge, "start_on": g.start_on.isoformat(), "end_on": g.end_on.isoformat(),
         "status": g.status} for g in p.rows]}


@router.post("/pairings", status_code=201)
def sign(body: PairingIn, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Record a signed agreement with its items."""
    items = [pairing.ItemIn(i.kind, i.description, i.due_on, forms.fen(i.value, "items", f"第 {n} 项价值"))
             for n, i in enumerate(body.items, start=1)]
    g = pairing.sign(session, actor=actor, partner_key=body.partner_key, company_name=body.company_name,
                     household_id=body.household_id, pledge=body.pledge, signed_on=body.signed_on,
                     start_on=body.start_on, end_on=body.end_on, items=items)
    session.commit()
    return {"id": g.id, "items": [{"id": it.id, "version": it.version} for it in pairing.items_of(session, g.id)]}


@router.get("/items")
def items(session: SessionDep, actor: ApiActor, overdue: bool = False,
          page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Pledged items (all, or the overdue ones)."""
    p = pairing.list_items(session, actor=actor, today=clock.today(), overdue=overdue, page=page)
    return {"total": p.total, "page": page, "items": [
        {"id": it.id, "pairing_id": g.id, "company": g.company_name, "kind": it.kind, "description": it.description,
         "value": yuan(it.value_fen), "due_on": it.due_on.isoformat(), "status": it.status, "version": it.version}
        for it, g in p.rows]}


@router.post("/items/{item_id}/deliver")
def deliver(item_id: Id, body: DeliveryIn, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Record an item as delivered."""
    it = pairing.deliver(session, actor=actor, item_id=item_id, version=body.version,
                         delivered_on=body.delivered_on, note=body.note, today=clock.today())
    session.commit()
    return {"id": it.id, "status": it.status, "version": it.version}
