"""The household's support plans and pairing agreements, for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.charity.support.labels import PAIRING_LABELS, PLAN_LABELS, TRAINING_LABELS
from doudi.charity.support.models import Pairing, Plan, Training
from doudi.core.timeline import ChainEvent


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """A plan's opening and closing, its training outcomes, and each pairing agreement."""
    if not actor.can("support.read"):
        return []
    out: list[ChainEvent] = []
    plans = in_scope(select(Plan), actor, area=Plan.area_code).where(Plan.household_id == household_id)
    for p in session.scalars(plans):
        url = f"/charity/support/plans/{p.id}"
        out.append(ChainEvent(p.opened_on, "社工帮扶", f"一对一帮扶开始（社工 {p.worker_name}）",
                              PLAN_LABELS.get(p.status, p.status), url))
        if p.closed_on:
            out.append(ChainEvent(p.closed_on, "社工帮扶", f"帮扶结案：{p.closure}", "", url))
    trainings = in_scope(select(Training), actor, area=Training.area_code).join(Plan, Plan.id == Training.plan_id)
    for t in session.scalars(trainings.where(Plan.household_id == household_id, Training.outcome_on.is_not(None))):
        assert t.outcome_on is not None
        out.append(ChainEvent(t.outcome_on, "社工帮扶", f"社工+家政培训（{t.course}）："
                              f"{TRAINING_LABELS.get(t.status, t.status)}{'，' + t.employer if t.employer else ''}",
                              "已提请渐退复核" if t.review_warning_id else "", f"/charity/support/plans/{t.plan_id}"))
    for g in session.scalars(in_scope(select(Pairing), actor, area=Pairing.area_code)
                             .where(Pairing.household_id == household_id)):
        out.append(ChainEvent(g.signed_on, "签约帮扶", f"{g.company_name} 签约帮扶：{g.pledge}",
                              PAIRING_LABELS.get(g.status, g.status), f"/charity/support/pairings/{g.id}"))
    return out
