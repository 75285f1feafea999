"""初审: the township's opinion per program, checked against the engine's assessment."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, CaseStep
from doudi.cases.schemas import Program
from doudi.cases.steps.base import Opinion, StepIn, decision_row, finish, handler, read_opinions, to_amount
from doudi.core.errors import FieldError, ValidationFailed


class FirstReviewIn(StepIn):
    """初审: the township's opinion on each program applied for."""

    opinions: dict[Program, Opinion] = Field(default_factory=dict, description="每个项目的初审意见")


@handler("first_review", permission="case.review", model=FirstReviewIn)
def first_review(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: FirstReviewIn, today: date) -> None:
    opinions = read_opinions(case, data.opinions, "opinions")
    errors: list[FieldError] = []
    for program, op in opinions.items():
        if program not in case.programs:
            continue
        row = decision_row(case, program)
        row.proposal = op["decision"]
        if "monthly_amount" in op and op["monthly_amount"] not in (None, ""):
            row.monthly_amount = to_amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
        if op.get("reasons"):
            row.reasons = [str(op["reasons"])]
        if op["decision"] == "approve":
            errors += consistency.check_approval(case, row, op, actor=actor, field_prefix=f"opinions.{program}",
                                                 override_level=svc.rules(case).override_level, deciding=False)
        else:
            consistency.clear_override(row)
    if errors:
        raise ValidationFailed(errors)
    summary = "；".join(f"{PROGRAM_LABELS.get(p, p)}：{'同意' if o['decision'] == 'approve' else '不同意'}"
                       for p, o in opinions.items())
    finish(session, actor, case, step, "reviewed", {"opinions": opinions}, f"乡镇提出初审意见（{summary}）", today,
            overrides=consistency.overrides(case))
