"""Console import pages per kind (households, facts, current recipients): template, dry-run preview, commit,
and the quarantined rows of a committed batch as an Excel download."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.caseload.importer import import_enrollments
from doudi.caseload.templates import KINDS, template_xlsx
from doudi.core.errors import DoudiError, FieldError, NotFound, ValidationFailed
from doudi.core.excel import MEDIA_TYPE, to_bytes
from doudi.core.uploads import CHUNK, MAX_UPLOAD
from doudi.deps import CsrfChecked, PageActor, SessionDep, SettingsDep, Uploaded, upload_field
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry.facts_import import import_facts
from doudi.registry.importer import import_households
from doudi.registry.preview import preview
from doudi.registry.reports import rejects_sheet
from doudi.web.render import render

router = APIRouter(include_in_schema=False)
SUFFIXES = {".csv", ".xlsx", ".xlsm", ".parquet"}
# The console's one upload cap (the file is held in memory while it is read); larger files go through the
# command line (doudi import), which reads them from disk.
UploadDep = Annotated[Uploaded, Depends(upload_field(max_bytes=MAX_UPLOAD))]
PAGE_KINDS = {k: v for k, v in KINDS.items() if k != "areas"}  # areas have their own page (/admin/areas)


def _runner(kind: str, session: Session, actor: Any, path: Path) -> Callable[[], Any]:
    if kind == "households":
        return lambda: import_households(session, actor=actor, path=path)
    if kind == "enrollments":
        return lambda: import_enrollments(session, actor=actor, path=path)
    return lambda: import_facts(session, actor=actor, kind=kind, path=path)


def _kind(kind: str) -> str:
    if kind not in PAGE_KINDS:
        raise NotFound("import kind")
    return kind


@router.get("/imports")
def imports_index(request: Request, actor: PageActor) -> Response:
    """The import kinds with their templates."""
    actor.require("import.run")
    return render(request, "caseload/imports.html", {"kinds": PAGE_KINDS, "kind": None})


@router.get("/imports/templates/{kind}.xlsx")
def template(kind: str, actor: PageActor) -> Response:
    """The XLSX template of an import (Chinese headers, one example row)."""
    actor.require("import.run")
    if kind not in KINDS:
        raise NotFound("template")
    return Response(template_xlsx(kind), media_type=MEDIA_TYPE,
                    headers={"Content-Disposition": f"attachment; filename={kind}-template.xlsx"})


@router.get("/imports/{kind}")
def import_form(request: Request, kind: str, actor: PageActor) -> Response:
    """Upload form of one import kind."""
    actor.require("import.run")
    return render(request, "caseload/imports.html", {"kinds": PAGE_KINDS, "kind": _kind(kind), "result": None,
                                                     "errors": [], "max_mb": MAX_UPLOAD // CHUNK})


@router.post("/imports/{kind}")
def import_run(request: Request, kind: str, session: SessionDep, settings: SettingsDep, actor: PageActor,
               _csrf: CsrfChecked, file: UploadDep, dry_run: bool = False) -> Response:
    """Preview (`?dry_run=1`: nothing written) or import the file; bad rows are listed with row, field and reason."""
    actor.require("import.run")
    kind = _kind(kind)
    ctx: dict[str, Any] = {"kinds": PAGE_KINDS, "kind": kind, "dry_run": dry_run, "errors": [],
                           "max_mb": MAX_UPLOAD // CHUNK}
    try:
        name = file.filename or "upload.csv"
        if Path(name).suffix.lower() not in SUFFIXES:
            raise ValidationFailed([FieldError("file", "只接受 CSV、XLSX 或 Parquet 文件")])
        folder = settings.data_dir / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        # Keep the original name visible (the batch records it) but never let it choose the path.
        path = folder / f"{secrets.token_hex(6)}-{Path(name).name}"
        path.write_bytes(file.check())
        try:
            run = _runner(kind, session, actor, path)
            result = preview(session, run) if dry_run else run()
        finally:
            path.unlink(missing_ok=True)  # it holds full ID numbers; the batch keeps its hash and rejects
    except (ValidationFailed, DoudiError) as exc:
        session.rollback()
        ctx["errors"] = exc.errors if isinstance(exc, ValidationFailed) else [FieldError("file", str(exc))]
        return render(request, "caseload/imports.html", {**ctx, "result": None}, status_code=422)
    if not dry_run:
        session.commit()
    rejects = [{"row": r[0], "field": r[1], "reason": r[2]} for r in result.rejects.head(50).iter_rows()]
    return render(request, "caseload/imports.html", {**ctx, "result": result, "rejects": rejects})


@router.get("/imports/batches/{batch_id}/rejects.xlsx")
def rejects_xlsx(batch_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The quarantined rows of a batch the user imported, as an Excel workbook."""
    actor.require("import.run")
    batch = session.get(IngestBatch, batch_id)
    # Only the user who ran the import (or the system) sees its rejected rows: they carry full ID numbers.
    if batch is None or batch.kind != "import" or not (actor.system or batch.created_by == actor.user_id):
        raise NotFound("batch")
    rows = session.execute(select(RejectedRow.row_number, RejectedRow.field, RejectedRow.reason)
                           .where(RejectedRow.batch_id == batch_id).order_by(RejectedRow.row_number, RejectedRow.id))
    frame = pl.DataFrame([tuple(r) for r in rows], schema={"row_number": pl.Int64, "field": pl.Utf8,
                                                             "reason": pl.Utf8}, orient="row")
    return Response(to_bytes(rejects_sheet(frame, title=f"批次{batch_id}隔离行")), media_type=MEDIA_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=batch-{batch_id}-rejects.xlsx"})
