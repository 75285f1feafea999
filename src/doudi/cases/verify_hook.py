"""Verification moved to the front of the process (一网通核): at acceptance the members' authorisations are
recorded and a verification request goes to every agency source; the 信息核对 step reads its result."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf, system_actor
from doudi.cases import service as svc
from doudi.cases.models import Case
from doudi.cases.schemas import ApplicationCreate
from doudi.core import clock
from doudi.core.errors import ValidationFailed
from doudi.registry.models import Household
from doudi.verification import service as verification
from doudi.verification.models import VerificationRequest


def _acting(actor: Actor) -> Actor:
    # Taking the application includes recording its authorisations and starting verification, so these are
    # done on the accepting user's authority (still attributed to them in the audit trail).
    return on_behalf(actor)


def authorise_and_request(session: Session, *, actor: Actor, case: Case, household: Household, on: date) -> int | None:
    """Record signed authorisations from the application and open a verification request; returns its id,
    or None when some member has not authorised (the timeline says who)."""
    data = ApplicationCreate.model_validate(case.declared)
    current = [m for m in household.members if m.valid_to is None]
    by_number = {m.person.id_number: m.person_id for m in current}
    signed = [(m.person.name, m.person.id_number) for m in current] if data.authorised_all else \
        [(m.name, m.id_number) for m in data.members if m.authorised]
    for i, (name, number) in enumerate(signed):
        pid = by_number.get(number)
        if pid is not None:
            verification.record_authorisation(
                session, actor=_acting(actor), household_id=household.id, person_id=pid, signed_by_name=name,
                signed_on=min(on, clock.today()), document_ref=f"{case.case_no}-授权书-{i + 1}",
                application_ref=case.case_no)
    try:
        req = verification.create_request(session, actor=_acting(actor), household_id=household.id,
                                          requested_on=on, purpose="application", case_ref=case.case_no)
    except ValidationFailed as exc:
        svc.event(session, case, actor=actor, kind="verification_blocked", public=True,
                  message="家庭经济状况核对授权书不全，请补签后再核对：" + "；".join(e.message for e in exc.errors))
        return None
    svc.event(session, case, actor=actor, kind="verification_requested",
              message=f"已向各部门发起信息核对（核对时限 {req.due_on}）")
    return req.id


def latest_request(session: Session, *, case: Case) -> Any:
    """The newest verification request made for this case (or for its household), if any."""
    if case.household_id is None:
        return None
    stmt = select(VerificationRequest).where(VerificationRequest.household_id == case.household_id)
    return session.scalars(stmt.order_by(VerificationRequest.id.desc()).limit(1)).first()


def tracking_for(session: Session, *, case: Case, request: Any = None) -> list[Any]:
    """Per-source status of the case's verification (即时追踪), for staff pages and the citizen portal (pass
    `request` when the caller has already read the latest one)."""
    req = request if request is not None else latest_request(session, case=case)
    if req is None:
        return []
    # The caller has already checked that the user may see this case.
    _, tracks = verification.tracking(session, actor=system_actor(name="portal"), request_id=req.id)
    return tracks


def household_of(session: Session, case: Case) -> Household | None:
    """The case's household."""
    return session.get(Household, case.household_id) if case.household_id else None
