"""Demo cases: a few dozen applications at every stage, so the inbox and case pages have work to show.

Run once, right after the synthetic county is loaded. Uses the real services (evaluation, verification
requests, steps), acting as the demo caseworker, approver and county officer.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor, on_behalf
from doudi.auth.scope import under
from doudi.cases import applications, consistency, steps
from doudi.cases import service as svc
from doudi.cases.schemas import ApplicationCreate
from doudi.core import clock
from doudi.policy.engine import evaluate_frames, long_decisions
from doudi.policy.registry_frames import read_registry
from doudi.registry.models import Household

FINDINGS = "入户查看住房、家电和生活状况，与申报基本一致"
STAGES = ["submitted"] * 6 + ["investigation_start"] * 8 + ["home_visit"] * 5 + ["first_review"] * 5 + \
         ["confirmation"] * 5 + ["decided"] * 6


def _actor(session: Session, username: str) -> Actor | None:
    user = session.scalar(select(User).where(User.username == username))
    return on_behalf(auth.actor_for(user)) if user else None


def engine_opinions(case: Any) -> dict[str, Any]:
    """Opinions that agree with the engine's assessment at acceptance: approve what it finds eligible at its
    amount, reject the rest with its reasons (the demo never approves against the engine)."""
    out: dict[str, dict[str, Any]] = {}
    for p, view in consistency.engine_views(case).items():
        if view.eligible and (view.amount > 0 or not consistency.pays(p)):
            out[p] = {"decision": "approve", "monthly_amount": str(view.amount)}
        else:
            out[p] = {"decision": "reject", "reasons": "；".join(view.reasons) or "经测算不符合条件"}
    return {"opinions": out}


def _supported(case: Any) -> bool:
    """True when the engine finds the case eligible for at least one program that pays."""
    return any(v.eligible and v.amount > 0 and consistency.pays(p) for p, v in consistency.engine_views(case).items())


def _paid_eligible(session: Session, households: list[Household], on: date) -> set[int]:
    """Households the engine finds eligible for a program that pays, from their registry facts (one batch run)."""
    if not households:
        return set()
    frames = read_registry(session.connection(), on=on, household_ids=[h.id for h in households])
    long = long_decisions(evaluate_frames(frames, on))
    paid = long.filter(pl.col("eligible") & (pl.col("monthly_amount") > 0)
                       & ~pl.col("program").is_in(sorted(consistency.UNPAID)))
    return set(paid["household_id"].to_list())


def _assign(rng: random.Random, households: list[Household], eligible: set[int]) -> list[Household]:
    """Households for STAGES (plus two spare): the later a stage, the more likely its household qualifies, so
    decided cases show real enrollments; one decided case stays a rejection, to show that notice too."""
    good = [h for h in households if h.id in eligible]
    rest = [h for h in households if h.id not in eligible]
    rng.shuffle(good)
    rng.shuffle(rest)
    picks: list[Household | None] = [None] * min(len(STAGES) + 2, len(households))
    late = [i for i, stage in enumerate(STAGES) if stage in {"decided", "confirmation", "first_review"}
            and i < len(picks)]
    if rest and late:
        picks[late[-1]] = rest.pop()  # one rejection among the decided cases
    for i in reversed(late[:-1] if rest else late):
        if good:
            picks[i] = good.pop()
    spare = good + rest
    return [p if p is not None else spare.pop() for p in picks]


def _advance(session: Session, case: Any, until: str, today: date, staff: dict[str, Actor]) -> None:
    while (active := svc.active_step(case)) is not None and active.key != until:
        opinions = engine_opinions(case)
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
    today = today or clock.today()
    staff = {k: a for k, a in {"caseworker": _actor(session, "caseworker"), "approver": _actor(session, "approver"),
                               "county": _actor(session, "county")}.items() if a is not None}
    if len(staff) < 3:
        return 0
    rng = random.Random(seed)
    households = list(session.scalars(under(select(Household), Household.area_code, township)
                                      .order_by(Household.id)))
    picks = _assign(rng, households, _paid_eligible(session, households, today))
    made = 0
    accepted: list[tuple[Any, date]] = []
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
        accepted.append((applications.accept(session, actor=staff["caseworker"], case_id=case.id, on=on), on))
    # Verification at acceptance can reveal what the registry did not show (a car, savings), so stages are
    # handed out after it: the cases the engine still supports go furthest, and one decided case is rejected.
    later = [st for st in STAGES if st != "submitted"]
    supported = [a for a in accepted if _supported(a[0])]
    other = [a for a in accepted if not _supported(a[0])]
    decided = later.count("decided")
    ranked = supported[:decided - 1] + other[:1] + supported[decided - 1:] + other[1:]  # furthest first
    for (case, on), stage in zip(ranked, reversed(later), strict=False):
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
