"""The household's warnings with their dispositions (and its side of a 重复 raised above the counties), and
referrals with their results, for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import in_scope
from doudi.core.timeline import ChainEvent
from doudi.monitoring.labels import AGENCIES, DISPOSITION, LEVEL, REFERRAL_STATUS, STATUS
from doudi.monitoring.models import MonitorWarning, Referral, WarningSide


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """Warnings (found, disposed) and referrals (sent, answered), in the actor's scope."""
    out: list[ChainEvent] = []
    if actor.can("monitoring.read"):
        stmt = in_scope(select(MonitorWarning), actor, area=MonitorWarning.area_code).where(
            MonitorWarning.household_id == household_id)
        for w in session.scalars(stmt):
            url = f"/monitoring/{w.id}"
            out.append(ChainEvent(w.first_seen_on, "监测预警", f"{LEVEL.get(w.level, w.level)}预警：{w.reason}",
                                  STATUS.get(w.status, w.status), url))
            if w.disposed_on is not None and w.disposition:
                out.append(ChainEvent(w.disposed_on, "预警处置", DISPOSITION.get(w.disposition, w.disposition),
                                      w.note, url))
        # A 重复 across counties names no household: the household's own side carries it into its chain.
        sides = in_scope(select(WarningSide, MonitorWarning).join(MonitorWarning, MonitorWarning.id ==
                                                                  WarningSide.warning_id),
                         actor, area=WarningSide.area_code).where(WarningSide.household_id == household_id)
        for side, above in session.execute(sides).all():
            url = f"/monitoring/{above.id}"
            out.append(ChainEvent(above.first_seen_on, "监测预警",
                                  f"{LEVEL.get(above.level, above.level)}预警（跨县，由上级核实）：{side.reason}",
                                  STATUS.get(above.status, above.status), url))
            if above.disposed_on is not None and above.disposition:
                out.append(ChainEvent(above.disposed_on, "预警处置（上级）",
                                      DISPOSITION.get(above.disposition, above.disposition), above.note, url))
    if actor.can("referral.read"):
        refs = in_scope(select(Referral), actor, area=Referral.area_code,
                        org=(OrgKind.AGENCY, Referral.target_key)).where(Referral.household_id == household_id)
        for r in session.scalars(refs):
            target = AGENCIES.get(r.target_key, r.target_key)
            out.append(ChainEvent(r.created_at.date(), "转办推送", f"转 {target}：{r.purpose}",
                                  f"{REFERRAL_STATUS.get(r.status, r.status)}，时限 {r.due_on}"))
            if r.answered_on is not None:
                out.append(ChainEvent(r.answered_on, "转办结果", f"{target} 办结", r.result))
    return out
