"""Decisions consistent with the engine's assessment.

The policy engine assesses every program when an application is accepted (`Case.proposed`). A program it
finds 不符合 is proposed for rejection with its reasons. Staff may still approve it, but only with a written
reason, and the approval itself needs the level the policy pack names (`procedure.override_level`); the
override is kept on the decision, printed on the notice and written to the audit trail. An approval that
would pay nothing (zero or negative amount) is refused for every program that pays money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from doudi.auth.permissions import Actor
from doudi.auth.scope import actor_level as actor_level  # re-exported: older imports
from doudi.cases import service as svc
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, ProgramDecision
from doudi.core.errors import Conflict, FieldError, ValidationFailed

# Recognitions without a cash amount: the engine's amount for them is always 0 (低保边缘, 刚性支出困难, 相对贫困).
UNPAID = frozenset({"dibao_marginal", "rigid_expense_hardship", "relative_poverty"})
LEVELS = ("village", "township", "county", "city", "province")
LEVEL_LABELS = {"village": "村（居）", "township": "乡镇（街道）", "county": "县级民政部门", "city": "市级民政部门",
                "province": "省级民政部门"}
MIN_REASON = 4  # characters: "同上" or a blank is not a reason


@dataclass(frozen=True)
class EngineView:
    """What the engine said about one program at acceptance."""

    program: str
    eligible: bool | None  # None: the engine did not assess it (e.g. a program added by hand)
    amount: Decimal
    reasons: list[str] = field(default_factory=list)


def engine_view(case: Case, program: str) -> EngineView:
    """The engine's result for one program of the case."""
    programs: dict[str, Any] = dict((case.proposed or {}).get("programs", {}))  # type: ignore[call-overload]
    out = programs.get(program)
    if not isinstance(out, dict):
        return EngineView(program, None, Decimal(0))
    reasons = [r["text"] if isinstance(r, dict) else str(r) for r in out.get("reasons", [])]
    amount = Decimal(str(out.get("monthly_amount") or 0)).quantize(Decimal("0.01"))
    return EngineView(program, bool(out.get("eligible")), amount, reasons)


def engine_views(case: Case) -> dict[str, EngineView]:
    """The engine's result for every program the case decides."""
    return {p: engine_view(case, p) for p in case.programs}


def level_reaches(actor: Actor, required: str) -> bool:
    """True when the actor's level is the required one or above."""
    if actor.system:
        return True
    return LEVELS.index(actor_level(actor)) >= LEVELS.index(required)


def pays(program: str) -> bool:
    """True when approving the program means paying money (so a zero amount is meaningless)."""
    return program not in UNPAID


def check_approval(case: Case, row: ProgramDecision, op: dict[str, Any], *, actor: Actor, field_prefix: str,
                   override_level: str, deciding: bool) -> list[FieldError]:
    """Problems with approving `row.program` (amount already applied to `row`); sets the override marks.

    `deciding` is False for a first-review proposal (a written reason is enough) and True for the approval
    itself (the pack's override level is needed as well)."""
    errors: list[FieldError] = []
    program = row.program
    if pays(program) and (row.monthly_amount is None or row.monthly_amount <= 0):
        errors.append(FieldError(f"{field_prefix}.monthly_amount", "批准的救助金额须大于 0"))
    view = engine_view(case, program)
    if view.eligible is not False:
        row.override_reason, row.override_level = "", ""
        return errors
    reason = str(op.get("override_reason") or "").strip()
    if len(reason) < MIN_REASON:
        why = "；".join(view.reasons) or "不符合条件"
        errors.append(FieldError(f"{field_prefix}.override_reason",
                                 f"系统测算结果为“不符合”（{why}），批准须写明理由"))
    if deciding and not level_reaches(actor, override_level):
        errors.append(FieldError(f"{field_prefix}.decision",
                                 f"测算结果为“不符合”的项目须由{LEVEL_LABELS.get(override_level, override_level)}"
                                 "或以上批准（政策参数 procedure.override_level）"))
    row.override_reason = reason[:500]
    row.override_level = override_level
    return errors


def clear_override(row: ProgramDecision) -> None:
    """A rejection (or a program the engine supports) carries no override."""
    row.override_reason, row.override_level = "", ""


def override_record(row: ProgramDecision) -> dict[str, Any] | None:
    """The override as written to the audit trail and the notice, or None."""
    if not row.override_level:
        return None
    return {"program": row.program, "level": row.override_level,
            "level_label": LEVEL_LABELS.get(row.override_level, row.override_level), "reason": row.override_reason}


def approval_problems(case: Case, row: ProgramDecision, op: dict[str, Any], actor: Actor,
                      prefix: str) -> list[FieldError]:
    """Checks of a decision (the step's): an approval pays above zero, and an override needs a reason and the
    pack's level; a rejection carries no override."""
    if row.outcome != "approved":
        clear_override(row)
        return []
    return check_approval(case, row, op, actor=actor, field_prefix=prefix,
                          override_level=svc.rules(case).override_level, deciding=True)


def check_single_approval(case: Case, row: ProgramDecision, data: dict[str, Any], actor: Actor) -> None:
    """The same checks for a one-program form whose fields are `amount` and `override_reason`."""
    fields = {"monthly_amount": "amount", "decision": "decision", "override_reason": "override_reason"}
    errors = [FieldError(fields.get(e.field.rsplit(".", 1)[-1], e.field), e.message)
              for e in approval_problems(case, row, data, actor, "")]
    if errors:
        raise ValidationFailed(errors)


def overrides(case: Case) -> list[dict[str, Any]]:
    """Every override among the case's decisions (for the timeline and the audit trail)."""
    return [o for d in case.decisions if (o := override_record(d)) is not None]


def check_consistent(case: Case) -> None:
    """Last line of defence before money moves: nothing is paid at zero, and no approval contradicts the
    engine unless it was taken, with a reason, at the pack's override level."""
    errors = [FieldError(f"decisions.{d.program}.monthly_amount", "批准的救助金额须大于 0")
              for d in case.decisions if d.outcome == "approved" and pays(d.program) and d.monthly_amount <= 0]
    if errors:
        raise ValidationFailed(errors)
    unexplained = [d.program for d in case.decisions if d.outcome == "approved" and not d.override_level
                   and engine_view(case, d.program).eligible is False]
    if unexplained:
        names = "、".join(PROGRAM_LABELS.get(p, p) for p in unexplained)
        raise Conflict(f"系统测算结果为“不符合”的项目未经写明理由的审核确认，不能作出同意决定：{names}")
