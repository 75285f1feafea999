"""县级抽查: uphold or overturn the township's decisions."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases.models import Case, CaseStep
from doudi.cases.schemas import Program
from doudi.cases.steps.base import Opinion, StepIn, bad, decision_row, finish, handler, read_opinions, to_amount
from doudi.core.errors import FieldError, ValidationFailed


class SpotCheckIn(StepIn):
    """县级抽查: uphold the township's decisions, or overturn them with new opinions."""

    result: str = Field(default="", description="upheld 维持 | overturned 纠正")
    note: str = Field(default="", description="说明")
    opinions: dict[Program, Opinion] = Field(default_factory=dict, description="纠正时每个项目的意见")


@handler("spot_check", permission="case.spot_check", model=SpotCheckIn)
def spot_check(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
               data: SpotCheckIn, today: date) -> None:
    result = data.result
    if result not in {"upheld", "overturned"}:
        raise bad("result", "抽查结论应为 维持 或 纠正")
    if result == "overturned":
        errors: list[FieldError] = []
        for program, op in read_opinions(case, data.opinions, "opinions").items():
            row = decision_row(case, program)
            row.outcome = "approved" if op["decision"] == "approve" else "rejected"
            if op.get("monthly_amount") not in (None, ""):
                row.monthly_amount = to_amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
            if op.get("reasons"):
                row.reasons = [str(op["reasons"])]
            errors += consistency.approval_problems(case, row, op, actor, f"opinions.{program}")
            row.decided_by, row.decided_on = actor.user_id, today
        if errors:
            raise ValidationFailed(errors)
    finish(session, actor, case, step, result, {"result": result, "note": data.note},
            "县级民政部门完成抽查" + ("（纠正乡镇意见）" if result == "overturned" else ""), today,
            overrides=consistency.overrides(case))
