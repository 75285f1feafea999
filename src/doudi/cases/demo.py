"""Demo cases: a few dozen applications at every stage, so the inbox and case pages have work to show.

Run once, right after the synthetic county is loaded. Uses the real services (evaluation, verification
requests, steps), acting as the demo caseworker, approver and county officer.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor, on_behalf
from doudi.cases import applications, steps
from doudi.cases import service as svc
from doudi.cases.schemas import ApplicationCreate
from doudi.registry.models import Household

FINDINGS = "入户查看住房、家电和生活状况，与申报基本一致"
STAGES = ["submitted"] * 6 + ["investigation_start"] * 8 + ["home_visit"] * 5 + ["first_review"] * 5 + \
         ["confirmation"] * 5 + ["decided"] * 6


def _actor(session: Session, username: str) -> Actor | None:
    user = session.scalar(select(User).where(User.username == username))
    return on_behalf(auth.actor_for(user)) if user else None


def _advance(session: Session, case: Any, until: str, today: date, staff: dict[str, Actor]) -> None:
    while (active := svc.active_step(case)) is not None and active.key != until:
        amounts = {p: str(d.monthly_amount) for p in case.programs for d in case.decisions if d.program == p}
        opinions = {"opinions": {p: {"decision": "approve", "monthly_amount": amounts.get(p, "0")}
                                 for p in case.programs}}
        by_step: dict[str, dict[str, Any]] = {
            "home_visit": {"investigators": ["张建华", "刘芳"], "findings": FINDINGS},
            "verification": {"conclusion": "consistent"}, "first_review": opinions, "confirmation": opinions,
            "spot_check": {"result": "upheld"}}
        data = by_step.get(active.key, {})
        who = {"verification": "county", "spot_check": "county", "confirmation": "approver",
               "decision": "approver"}.get(active.key, "caseworker")
        when = max(today, active.due_on) if active.key == "publicity" and active.due_on else today
        steps.act(session, actor=staff[who], case_id=case.id, step_key=active.key,
                  action="close" if active.key == "publicity" else "complete", data=data, version=case.version,
                  today=when)


def seed_demo_cases(session: Session, *, township: str, today: date | None = None, seed: int = 2026) -> int:
    """Create the demo applications in one township; returns how many."""
    today = today or date.today()
    staff = {k: a for k, a in {"caseworker": _actor(session, "caseworker"), "approver": _actor(session, "approver"),
                               "county": _actor(session, "county")}.items() if a is not None}
    if len(staff) < 3:
        return 0
    rng = random.Random(seed)
    households = list(session.scalars(select(Household).where(Household.area_code.startswith(township))
                                      .order_by(Household.id)))
    picks = rng.sample(households, min(len(STAGES) + 2, len(households)))
    made = 0
    for hh, stage in zip(picks, STAGES, strict=False):
        head = next((m.person for m in hh.members if m.relation == "head" and m.valid_to is None), None)
        if head is None:
            continue
        on = today - timedelta(days=rng.randint(0, 24))
        data = ApplicationCreate(household_id=hh.id, applicant_name=head.name, applicant_id_number=head.id_number,
                                 applicant_phone=head.phone or "", channel=rng.choice(["staff", "applicant", "proxy"])
                                 if stage == "submitted" else "staff", authorised_all=True,
                                 proxy_name="邻居代办" if stage == "submitted" else "",
                                 proxy_relation="friend" if stage == "submitted" else "")
        if data.channel == "proxy" and not data.proxy_name:
            data = data.model_copy(update={"channel": "staff"})
        case = applications.submit(session, actor=staff["caseworker"], data=data)
        made += 1
        if stage == "submitted":
            continue
        applications.accept(session, actor=staff["caseworker"], case_id=case.id, on=on)
        _advance(session, case, "" if stage == "decided" else stage, on, staff)
    # One emergency (急难型) application waiting for the 24-hour grant.
    if len(picks) > len(STAGES):
        hh = picks[len(STAGES)]
        head = next((m.person for m in hh.members if m.relation == "head"), None)
        if head is not None:
            data = ApplicationCreate(household_id=hh.id, applicant_name=head.name, authorised_all=True,
                                     applicant_id_number=head.id_number,
                                     temporary_need={"kind": "emergency", "amount": "800", "reason": "房屋失火"})
            case = applications.submit(session, actor=staff["caseworker"], data=data)
            applications.accept(session, actor=staff["caseworker"], case_id=case.id, on=today)
            made += 1
    return made
