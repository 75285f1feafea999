"""信息核对: the conclusion of the agencies' answers (the latest request's report)."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import OptInt, StepIn, bad, finish, handler
from doudi.cases.verify_hook import latest_request


class VerificationIn(StepIn):
    """信息核对: the conclusion from the agencies' answers."""

    conclusion: str = Field(default="", description="consistent 一致 | discrepancy 存在差异 | no_record 无记录")
    note: str = Field(default="", description="说明")
    report_id: OptInt = Field(default=None, description="核对报告（默认本案最近的核对请求）")


@handler("verification", permission="verification.request", model=VerificationIn)
def verification(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: VerificationIn, today: date) -> None:
    req = latest_request(session, case=case)
    report_id = data.report_id or (req.id if req is not None else None)
    conclusion = data.conclusion
    if conclusion not in {"consistent", "discrepancy", "no_record"}:
        raise bad("conclusion", "核对结论应为 一致/存在差异/无记录")
    finish(session, actor, case, step, conclusion, {"conclusion": conclusion, "note": data.note,
                                                    "report_id": report_id},
            "完成家庭经济状况信息核对", today)
