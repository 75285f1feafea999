"""What every step handler shares: the registry the handlers join with :func:`handler`, and the checks and
the completion they all use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above
from doudi.cases import service as svc
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, CaseStatus, CaseStep, ProgramDecision, StepStatus, TemporaryGrant
from doudi.cases.rules import DECISIONS
from doudi.cases.schemas import Program
from doudi.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from doudi.core.validation import from_pydantic


def _blank_none(value: Any) -> Any:
    # A form sends an empty field as "": for an optional date, amount or number that means "not given".
    return None if isinstance(value, str) and not value.strip() else value


OptDate = Annotated[date | None, BeforeValidator(_blank_none)]
OptAmount = Annotated[Decimal | None, BeforeValidator(_blank_none)]
OptInt = Annotated[int | None, BeforeValidator(_blank_none)]


class StepIn(BaseModel):
    """The input of one step; each step module declares its own (`HomeVisitIn`, `ConfirmationIn`, …).

    The types are checked here; the rules (how many investigators, which conclusions) are checked by the
    handler, which names the field and the article in its message."""

    model_config = ConfigDict(extra="ignore")


class Opinion(BaseModel):
    """One program's opinion in a review or decision step."""

    model_config = ConfigDict(extra="ignore")

    decision: str = Field(default="", description="approve 同意 | reject 不同意")
    monthly_amount: OptAmount = Field(default=None, description="月救助金额（元）")
    reasons: str = Field(default="", description="理由（不同意时必填）")
    override_reason: str = Field(default="", description="与系统测算结果不一致时的理由")


In = TypeVar("In", bound=StepIn)
In_contra = TypeVar("In_contra", bound=StepIn, contravariant=True)


class Handler(Protocol[In_contra]):
    """A step handler: checks the input, records the step's outcome and activates the next step."""

    def __call__(self, session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str, data: In_contra,
                 today: date) -> None: ...


@dataclass(frozen=True)
class Step:
    """A registered step: its permission, its input model and its handler."""

    key: str
    permission: str
    model: type[StepIn]
    run: Handler[Any]


STEPS: dict[str, Step] = {}
HANDLERS: dict[str, Handler[Any]] = {}
STEP_ACTION: dict[str, str] = {}  # step key → the permission needed to act on it


def handler(key: str, *, permission: str, model: type[In]) -> Callable[[Handler[In]], Handler[In]]:
    """Register the handler of step `key`, acted on with `permission`, taking `model` as its input."""
    def register(fn: Handler[In]) -> Handler[In]:
        STEPS[key] = Step(key, permission, model, fn)
        HANDLERS[key] = fn
        STEP_ACTION[key] = permission
        return fn
    return register


def parse_input(key: str, data: StepIn | Mapping[str, Any]) -> StepIn:
    """The step's typed input from a model or a mapping (a form, a JSON body); ValidationFailed names each field."""
    step = STEPS.get(key)
    model = step.model if step is not None else StepIn
    if isinstance(data, model):
        return data
    raw = data.model_dump() if isinstance(data, BaseModel) else dict(data)
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


STEP_ACTION["termination_publicity"] = "case.publicize"  # acted on through enrollments, not a handler


def bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def level_ok(actor: Actor, step: CaseStep) -> None:
    # A county-level step needs a county-level (or higher) user, even if the role would allow it in a township.
    if step.level == "county" and not county_or_above(actor):
        raise PermissionDenied(f"“{svc.label(step.key)}”须由县级民政部门办理")


def _participants(case: Case, keys: set[str]) -> set[int]:
    return {s.performed_by for s in case.steps if s.key in keys and s.status == StepStatus.DONE and s.performed_by}


def separation(case: Case, actor: Actor) -> None:
    """The user who investigated, first-reviewed or accepted a case cannot confirm it (each configurable per
    pack: procedure.separation_of_duties, procedure.separation.acceptance_confirmation)."""
    if actor.user_id is None:
        return
    rules = svc.rules(case)
    if rules.separation_of_duties:
        investigators = {int(i) for s in case.steps if s.key in {"home_visit", "investigation_start"}
                         for i in list((s.data or {}).get("investigator_ids", []))}  # type: ignore[call-overload]
        if actor.user_id in _participants(case, {"home_visit", "first_review", "investigation_start"}) | investigators:
            raise PermissionDenied("职责分离：参与调查或初审的人员不能审核确认本案")
    if rules.separation_acceptance and actor.user_id in _participants(case, {"accept"}):
        raise PermissionDenied("职责分离：受理本案的人员不能审核确认本案")


def grant_payment_separation(case: Case, actor: Actor, approved_by: int | None) -> None:
    """The user who approved a temporary grant cannot pay it (procedure.separation.grant_payment)."""
    if actor.user_id is not None and actor.user_id == approved_by and svc.rules(case).separation_payment:
        raise PermissionDenied("职责分离：批准本笔临时救助金的人员不能发放")


def to_amount(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise bad(field, "金额格式不正确") from None
    if amount < 0:
        raise bad(field, "金额不能为负")
    return amount.quantize(Decimal("0.01"))


def read_opinions(case: Case, given: Mapping[Program, Opinion], field: str) -> dict[str, dict[str, Any]]:
    """Each program's opinion as recorded on the step; every program of the case needs one, a rejection a reason."""
    opinions: dict[str, dict[str, Any]] = {p: o.model_dump(mode="json", exclude_none=True) for p, o in given.items()}
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
    if svc.active_step(case) is None and case.status == CaseStatus.OPEN:
        case.status, case.closed_at = CaseStatus.DECIDED, svc.now()


def temporary_grant(session: Session, case: Case) -> TemporaryGrant:
    """The case's temporary-aid grant, or Conflict when it has none."""
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is None:
        raise Conflict("该案件没有临时救助申请")
    return grant


