"""What every step handler shares: the registry the handlers join with :func:`handler`, and the checks and
the completion they all use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, CaseStep, ProgramDecision, TemporaryGrant
from doudi.cases.rules import DECISIONS
from doudi.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed


class Handler(Protocol):
    """A step handler: checks the input, records the step's outcome and activates the next step."""

    def __call__(self, session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: dict[str, Any], today: date) -> None: ...


HANDLERS: dict[str, Handler] = {}
STEP_ACTION: dict[str, str] = {}  # step key → the permission needed to act on it


def handler(key: str, *, permission: str) -> Callable[[Handler], Handler]:
    """Register the handler of step `key`, acted on with `permission`."""
    def register(fn: Handler) -> Handler:
        HANDLERS[key] = fn
        STEP_ACTION[key] = permission
        return fn
    return register


STEP_ACTION["termination_publicity"] = "case.publicize"  # acted on through enrollments, not a handler


def bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def level_ok(actor: Actor, step: CaseStep) -> None:
    # A county-level step needs a county-level (or higher) user, even if the role would allow it in a township.
    if step.level == "county" and not actor.system and len(actor.area_code) > 6:
        raise PermissionDenied(f"“{svc.label(step.key)}”须由县级民政部门办理")


def _participants(case: Case, keys: set[str]) -> set[int]:
    return {s.performed_by for s in case.steps if s.key in keys and s.status == "done" and s.performed_by}


def separation(case: Case, actor: Actor) -> None:
    """The user who investigated or first-reviewed a case cannot confirm it (configurable per pack)."""
    if not svc.rules(case).separation_of_duties or actor.user_id is None:
        return
    investigators = {int(i) for s in case.steps if s.key in {"home_visit", "investigation_start"}
                     for i in list((s.data or {}).get("investigator_ids", []))}  # type: ignore[call-overload]
    if actor.user_id in _participants(case, {"home_visit", "first_review", "investigation_start"}) | investigators:
        raise PermissionDenied("职责分离：参与调查或初审的人员不能审核确认本案")


def to_amount(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise bad(field, "金额格式不正确") from None
    if amount < 0:
        raise bad(field, "金额不能为负")
    return amount.quantize(Decimal("0.01"))


def read_opinions(case: Case, data: dict[str, Any], field: str) -> dict[str, dict[str, Any]]:
    opinions = data.get("opinions") or {}
    errors = []
    for program in case.programs:
        op = opinions.get(program)
        if not isinstance(op, dict) or op.get("decision") not in DECISIONS:
            errors.append(FieldError(f"{field}.{program}.decision", "须选择同意或不同意"))
        elif op["decision"] == "reject" and not str(op.get("reasons", "")).strip():
            errors.append(FieldError(f"{field}.{program}.reasons", "不同意须写明理由"))
    if errors:
        raise ValidationFailed(errors)
    return opinions


def decision_row(case: Case, program: str) -> ProgramDecision:
    row = next((d for d in case.decisions if d.program == program), None)
    if row is None:
        row = ProgramDecision(case_id=case.id, program=program)
        case.decisions.append(row)
    return row


def finish(session: Session, actor: Actor, case: Case, step: CaseStep, outcome: str, data: dict[str, Any],
            message: str, today: date, public: bool = True, overrides: list[dict[str, Any]] | None = None) -> None:
    svc.complete(session, step, actor=actor, outcome=outcome, data=data)
    svc.event(session, case, actor=actor, kind=f"step.{step.key}", message=message, public=public,
              data={"outcome": outcome})
    after: dict[str, Any] = {"outcome": outcome, **{
        k: v for k, v in data.items() if k in {"decision", "opinions", "result", "investigators", "mode"}}}
    if overrides:  # approvals against the engine's assessment, with the reason and the level that took them
        after["overrides"] = overrides
        svc.event(session, case, actor=actor, kind="override", public=False,
                  message="与系统测算结果不一致的意见：" + "；".join(
                      f"{PROGRAM_LABELS.get(o['program'], o['program'])}（{o['level_label']}）：{o['reason']}"
                      for o in overrides))
    svc.record(session, case, actor=actor, action=f"case.step.{step.key}", after=after)
    svc.activate_next(session, case, today=today)
    if svc.active_step(case) is None and case.status == "open":
        case.status, case.closed_at = "decided", svc.now()


def temporary_grant(session: Session, case: Case) -> TemporaryGrant:
    """The case's temporary-aid grant, or Conflict when it has none."""
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is None:
        raise Conflict("该案件没有临时救助申请")
    return grant


