"""The audit viewer: filter, page, export and verify the chain."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from doudi.audit import query
from doudi.audit import service as audit
from doudi.deps import CsrfChecked, PageActor, SessionDep, query_date
from doudi.web.render import render, word

router = APIRouter(include_in_schema=False)
DateFrom = Annotated[date | None, Depends(query_date("date_from", "起始日期"))]
DateTo = Annotated[date | None, Depends(query_date("date_to", "截止日期"))]


def _filters(who: str, action: str, outcome: str, object_type: str, object_id: str,
             date_from: date | None, date_to: date | None) -> query.AuditFilter:
    return query.AuditFilter(actor=who, action=action, outcome=outcome, object_type=object_type,
                             object_id=object_id, date_from=date_from, date_to=date_to)


@router.get("/audit")
def audit_page(
    request: Request, session: SessionDep, actor: PageActor, who: str = "", action: str = "", outcome: str = "",
    object_type: str = "", object_id: str = "", date_from: DateFrom = None, date_to: DateTo = None,
    page: int = Query(1, ge=1, le=1_000_000),
) -> Response:
    """Audit entries in the auditor's area."""
    f = _filters(who, action, outcome, object_type, object_id, date_from, date_to)
    rows, total = query.search(session, actor=actor, filters=f, page=page, per_page=50)
    return render(request, "audit/list.html", {"rows": rows, "total": total, "f": f, "page": page,
                                               "pages": max(1, -(-total // 50)), "verify": None})


@router.get("/audit/export.xlsx")
def audit_export(
    session: SessionDep, actor: PageActor, who: str = "", action: str = "", outcome: str = "",
    object_type: str = "", object_id: str = "", date_from: DateFrom = None, date_to: DateTo = None,
) -> Response:
    """The filtered entries as Excel."""
    f = _filters(who, action, outcome, object_type, object_id, date_from, date_to)
    data = query.export_xlsx(session, actor=actor, filters=f, words=word)
    audit.record(session, actor=actor, action="audit.export", extra={"filters": f.__dict__})
    session.commit()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="audit.xlsx"'})


@router.post("/audit/verify")
def audit_verify(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked) -> Response:
    """Run the chain check and show the result."""
    actor.require("audit.verify")
    audit.seal(session)
    report = audit.verify_report(session)
    problems = report.problems
    audit.record(session, actor=actor, action="audit.verify", extra={"problems": len(problems)})
    session.commit()
    rows, total = query.search(session, actor=actor, filters=query.AuditFilter(), page=1, per_page=50)
    return render(request, "audit/list.html", {"rows": rows, "total": total, "f": query.AuditFilter(), "page": 1,
                                               "pages": max(1, -(-total // 50)), "verify": problems,
                                               "summary": audit.describe(report)})
