"""Monitoring JSON API (/api/v1/monitoring/…): runs, the warning ledger and its actions, exports, referrals."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from doudi.core import clock, excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.masking import mask_id
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, ReadSessionDep, SessionDep, Uploaded, upload_field
from doudi.monitoring import export, flows, imports, referrals, service
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from doudi.monitoring.schemas import (
    LeadApplication,
    ReferralAnswer,
    ReferralCreate,
    ReferralRead,
    RunCreate,
    RunRead,
    WarningAction,
    WarningPage,
    WarningRead,
)

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


def warning_read(w: MonitorWarning) -> WarningRead:
    """A warning with its ID number masked."""
    out = WarningRead.model_validate(w)
    return out.model_copy(update={"id_number": mask_id(w.id_number) if w.id_number else ""})


@router.post("/runs", response_model=RunRead, status_code=201)
def start_run(body: RunCreate, actor: ApiActor, session: SessionDep) -> RunRead:
    """Compare the caller's area now (county officers); counts per rule."""
    result = run(session, actor=actor, on=body.on or clock.today(), area=body.area)
    session.commit()
    return RunRead(run_id=result.run_id, on=result.on, new=result.new, batches=result.batches, counts=result.counts)


@router.get("/warnings", response_model=WarningPage)
def warnings(actor: ApiActor, session: ReadSessionDep, rule: str = "", level: str = "", status: str = "",
             township: str = "", overdue: bool = False, q: str = "", page: int = Query(1, ge=1, le=MAX_PAGE),
             per_page: int = Query(50, ge=1, le=500)) -> WarningPage:
    """The ledger in the caller's area, filtered and paged."""
    f = service.Filters(rule=rule, level=level, status=status, township=township, overdue=overdue, q=q)
    rows, total = service.list_warnings(session, actor=actor, filters=f, today=clock.today(), page=page,
                                        per_page=per_page)
    return WarningPage(total=total, page=page, items=[warning_read(w) for w in rows])


@router.get("/warnings/export")
def warnings_export(actor: ApiActor, session: SessionDep, fmt: Literal["csv", "xlsx"] = Query("csv", alias="format"),
                    rule: str = "", status: str = "", unmask: bool = False, reason: str = "") -> Response:
    """One row per warning as CSV or Excel; unmasking needs the permission and a reason (audited)."""
    data = export.rows(session, actor=actor, filters=service.Filters(rule=rule, status=status), today=clock.today(),
                       unmask=unmask, reason=reason)
    session.commit()
    if fmt == "xlsx":
        return Response(excel.to_bytes(export.sheet(data)), media_type=export.XLSX,
                        headers={"Content-Disposition": 'attachment; filename="monitoring.xlsx"'})
    buf = io.StringIO()
    export.write_csv(buf, data)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="monitoring.csv"'})


@router.post("/warnings/dispositions")
def dispositions_import(actor: ApiActor, session: SessionDep,
                        file: Annotated[Uploaded, Depends(upload_field(max_bytes=20 * 1024 * 1024))]
                        ) -> dict[str, object]:
    """Dispositions filled offline in the exported ledger (xlsx or csv): applied rows, blank rows, rejected rows
    with line, field and reason (a file that cannot be read at all is a 422)."""
    try:
        result = imports.import_dispositions(session, actor=actor, data=file.check(), filename=file.filename,
                                             today=clock.today())
    except imports.DispositionFileError as exc:
        raise ValidationFailed([FieldError("file", str(exc))]) from None
    session.commit()
    return {"applied": result.applied, "blank": result.blank,
            "rejected": [{"line": r.line, "id": r.warning_id, "field": r.field, "message": r.message}
                         for r in result.rejected]}


@router.get("/warnings/{warning_id}", response_model=WarningRead)
def warning(warning_id: Id, actor: ApiActor, session: ReadSessionDep) -> WarningRead:
    """One warning in the caller's area."""
    return warning_read(service.get_warning(session, actor=actor, warning_id=warning_id))


@router.post("/warnings/{warning_id}/actions", response_model=WarningRead)
def warning_action(warning_id: Id, body: WarningAction, actor: ApiActor, session: SessionDep) -> WarningRead:
    """Assign, verify, dispose (with reason; refer needs a target) or close a warning."""
    today = clock.today()
    if body.action == "assign":
        w = service.assign(session, actor=actor, warning_id=warning_id, version=body.version, assignee_id=None,
                           note=body.note)
    elif body.action == "verify":
        w = service.verify(session, actor=actor, warning_id=warning_id, version=body.version, note=body.note)
    elif body.action == "dispose":
        w = service.dispose(session, actor=actor, warning_id=warning_id, version=body.version,
                            disposition=body.disposition, note=body.note, today=today, target_key=body.target_key,
                            target_kind=body.target_kind)
    else:
        w = service.close(session, actor=actor, warning_id=warning_id, version=body.version, note=body.note,
                          today=today)
    session.commit()
    return warning_read(w)


@router.post("/warnings/{warning_id}/application", status_code=201)
def warning_application(warning_id: int, body: LeadApplication, actor: ApiActor, session: SessionDep
                        ) -> dict[str, object]:
    """Turn a discovery lead into an application (channel 主动发现) in one action; the warning is disposed."""
    case = flows.start_application(session, actor=actor, warning_id=warning_id, version=body.version,
                                   today=clock.today())
    session.commit()
    return {"case_id": case.id, "case_no": case.case_no, "warning_id": warning_id}


@router.get("/stats")
def stats(actor: ApiActor, session: ReadSessionDep) -> dict[str, object]:
    """Warnings by rule and township, the weekly trend and the on-time disposal rate."""
    return service.stats(session, actor=actor, today=clock.today())


@router.get("/referrals", response_model=list[ReferralRead])
def referral_list(actor: ApiActor, session: ReadSessionDep, status: str = "") -> list[ReferralRead]:
    """Referrals in scope; an agency liaison sees those addressed to its agency."""
    return [ReferralRead.model_validate(r) for r in referrals.list_referrals(session, actor=actor, status=status)]


@router.post("/referrals", response_model=ReferralRead, status_code=201)
def referral_create(body: ReferralCreate, actor: ApiActor, session: SessionDep) -> ReferralRead:
    """Refer a warning's subject to an agency or partner (转办推送), due in the pack's working days."""
    actor.require("referral.create")
    w = service.owned_warning(session, actor=actor, warning_id=body.warning_id)
    r = referrals.create(session, actor=actor, warning=w, target_kind=body.target_kind, target_key=body.target_key,
                         purpose=body.purpose, today=clock.today())
    session.commit()
    return ReferralRead.model_validate(r)


@router.post("/referrals/{referral_id}/answer", response_model=ReferralRead)
def referral_answer(referral_id: Id, body: ReferralAnswer, actor: ApiActor, session: SessionDep) -> ReferralRead:
    """Acknowledge a referral or record its result."""
    r = referrals.answer(session, actor=actor, referral_id=referral_id, version=body.version,
                         acknowledge_only=body.acknowledge_only, result=body.result, today=clock.today())
    session.commit()
    return ReferralRead.model_validate(r)
