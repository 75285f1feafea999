"""一户一条救助链: a household's assistance chain in time order — assessments, applications and decisions,
enrollments and their amounts, warnings and dispositions, referrals and results, payments — each domain adding
its part (modules in CHAIN_SOURCES expose `chain_events(session, *, actor, household_id) -> list[ChainEvent]`,
already scoped to the actor). The page is scoped by area like everything else."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area
from doudi.core.timeline import ChainEvent
from doudi.deps import PageActor, SessionDep
from doudi.registry.models import Household
from doudi.web.render import render

# Domains append theirs (a module path each).
CHAIN_SOURCES: list[str] = [
    "doudi.policy.chain",  # assessments
    "doudi.cases.chain",  # applications, decisions, enrollments and their changes
    "doudi.monitoring.chain",  # warnings and dispositions, referrals and results
    "doudi.payments.chain",  # payments
    "doudi.charity.chain",  # needs passed to social forces, matches and help delivered
    "doudi.charity.fund.chain",  # charity fund grants
    "doudi.charity.support.chain",  # support plans, training outcomes, pairing agreements
    "doudi.care.chain",  # home care: self-care assessments, visits month by month, the end of care
]

router = APIRouter(include_in_schema=False)


def chain(session: Session, *, actor: Actor, household_id: int) -> tuple[Household, list[ChainEvent]]:
    """The household (NotFound outside the actor's area) and its chain, oldest first."""
    hh = get_in_area(session, Household, household_id, actor=actor, action="household.read", label="家庭")
    events: list[ChainEvent] = []
    for name in CHAIN_SOURCES:
        events.extend(importlib.import_module(name).chain_events(session, actor=actor, household_id=hh.id))
    return hh, sorted(events, key=lambda e: (e.on, e.kind, e.title))


@router.get("/households/{household_id}/chain")
def chain_page(request: Request, household_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The household's assistance chain, in time order."""
    hh, events = chain(session, actor=actor, household_id=household_id)
    return render(request, "chain.html", {"hh": hh, "events": events})
