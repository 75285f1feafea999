"""Audit API for auditors."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from doudi.audit import query
from doudi.audit import service as audit
from doudi.core.validation import MAX_PAGE
from doudi.deps import ApiActor, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditRead(BaseModel):
    """One audit entry."""

    seq: int
    at: datetime
    actor: str
    ip: str
    action: str
    object_type: str
    object_id: str
    area_code: str | None
    outcome: str
    changes: dict[str, object]
    hash: str


class AuditPage(BaseModel):
    """A page of audit entries."""

    items: list[AuditRead]
    total: int


class VerifyOut(BaseModel):
    """The chain check result."""

    ok: bool
    problems: list[dict[str, object]]
    entries: int = 0
    seals: int = 0  # signed batches
    unsealed: int = 0  # entries not yet in a batch
    summary: list[str] = []  # the segments, in words


@router.get("/entries", response_model=AuditPage)
def entries(
    actor: ApiActor,
    session: SessionDep,
    who: str = "",
    action: str = "",
    outcome: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(50, ge=1, le=500),
) -> AuditPage:
    """Audit entries in the caller's area, newest first."""
    f = query.AuditFilter(actor=who, action=action, outcome=outcome, object_type=object_type, object_id=object_id,
                          date_from=date_from, date_to=date_to)
    rows, total = query.search(session, actor=actor, filters=f, page=page, per_page=per_page)
    return AuditPage(items=[AuditRead.model_validate(r, from_attributes=True) for r in rows], total=total)


@router.post("/verify", response_model=VerifyOut)
def verify(actor: ApiActor, session: SessionDep) -> VerifyOut:
    """Seal new entries, then check the whole log for edited, deleted or moved entries."""
    actor.require("audit.verify")
    audit.seal(session)
    report = audit.verify_report(session)
    problems = report.problems
    audit.record(session, actor=actor, action="audit.verify", extra={"problems": len(problems)})
    session.commit()
    return VerifyOut(ok=not problems, problems=[p.__dict__ for p in problems], entries=report.entries,
                     seals=report.seals, unsealed=report.unsealed, summary=audit.describe(report))
