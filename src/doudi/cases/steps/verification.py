"""信息核对: the conclusion of the agencies' answers (the latest request's report)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case, CaseStep
from doudi.cases.steps.base import bad, finish, handler
from doudi.cases.verify_hook import latest_request


@handler("verification", permission="verification.request")
def verification(session: Session, *, actor: Actor, case: Case, step: CaseStep, action: str,
                 data: dict[str, Any], today: date) -> None:
    req = latest_request(session, case=case)
    if req is not None and not data.get("report_id"):
        data = {**data, "report_id": req.id}
    conclusion = data.get("conclusion")
    if conclusion not in {"consistent", "discrepancy", "no_record"}:
        raise bad("conclusion", "核对结论应为 一致/存在差异/无记录")
    finish(session, actor, case, step, conclusion, {"conclusion": conclusion, "note": data.get("note", ""),
                                                    "report_id": data.get("report_id")},
            "完成家庭经济状况信息核对", today)
