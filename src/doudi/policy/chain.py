"""The household's stored assessments (测算), for 一户一条救助链."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.core.timeline import ChainEvent
from doudi.policy.models import AssessmentDecision, AssessmentRun


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """One line per registry assessment run that assessed the household: the programs found eligible."""
    if not actor.can("policy.read"):
        return []
    stmt = in_scope(select(AssessmentRun.eval_date, AssessmentRun.id, AssessmentDecision.program,
                           AssessmentDecision.eligible, AssessmentDecision.monthly_amount)
                    .join(AssessmentRun, AssessmentRun.id == AssessmentDecision.run_id), actor,
                    area=AssessmentDecision.area_code).where(AssessmentDecision.household_id == household_id,
                                                             AssessmentRun.source == "registry")
    runs: dict[int, tuple[date, list[str]]] = {}
    for on, run_id, program, eligible, amount in session.execute(stmt):
        entry = runs.setdefault(run_id, (on, []))
        if eligible:
            entry[1].append(f"{program} {amount} 元" if amount else str(program))
    return [ChainEvent(on, "测算", "符合：" + ("、".join(found) if found else "无"), f"测算批次 {run_id}")
            for run_id, (on, found) in runs.items()]
