"""Administration pages: division codes, backups (the registry import is at /imports/households)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.admin.backup import list_backups, make_backup
from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth.models import User
from doudi.auth.permissions import Actor
from doudi.auth.scope import covers_everything, outside_area
from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.core.uploads import MAX_UPLOAD
from doudi.deps import CsrfChecked, PageActor, SessionDep, SettingsDep, Uploaded, upload_field
from doudi.registry.models import Household
from doudi.web.render import render

router = APIRouter(include_in_schema=False)
UPLOAD_SUFFIXES = {".csv", ".xlsx", ".xlsm"}
UploadDep = Annotated[Uploaded, Depends(upload_field(max_bytes=MAX_UPLOAD))]


def _stash(upload_dir: Path, name: str, data: bytes) -> Path:
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValidationFailed([FieldError("file", "只接受 CSV 或 XLSX 文件")])
    upload_dir.mkdir(parents=True, exist_ok=True)
    # Keep the original name visible (the import records it) but never let it choose the path.
    path = upload_dir / f"{secrets.token_hex(6)}-{Path(name).name}"
    path.write_bytes(data)
    return path


@router.api_route("/households/import", methods=["GET", "POST"])
def import_moved() -> Response:
    """The household import moved to the import page of each kind (/imports/households): a bookmark or a
    form posted to the old address lands there (308 keeps the method and the upload)."""
    return RedirectResponse("/imports/households", status_code=308)


@router.get("/admin/areas")
def areas_page(request: Request, session: SessionDep, actor: PageActor, q: str = "", level: str = "",
               page: int = Query(1, ge=1, le=100_000)) -> Response:
    """The divisions in the administrator's area (search by code or name, filter by level, paged), with an import
    form for official code files."""
    actor.require("area.manage")
    return _areas(request, session, actor, q=q, level=level, page=page)


AREA_LEVELS = {"province": "省级", "city": "地级", "county": "县级", "township": "乡级", "village": "村级"}
AREAS_PER_PAGE = 50


def _areas(request: Request, session: Session, actor: Actor, *, q: str = "", level: str = "", page: int = 1,
           errors: list[FieldError] | None = None, done: int | None = None, status_code: int = 200) -> Response:
    rows = areas.subtree(session, area_code=actor.area_code)
    q = q.strip()
    if q:
        rows = [a for a in rows if a.code.startswith(q) or q in a.name]
    if level:
        rows = [a for a in rows if a.level == level]
    pages = max(1, -(-len(rows) // AREAS_PER_PAGE))
    page = min(page, pages)
    shown = rows[(page - 1) * AREAS_PER_PAGE: page * AREAS_PER_PAGE]
    return render(request, "admin/areas.html", {
        "rows": shown, "total": len(rows), "errors": errors or [], "done": done, "q": q, "level": level,
        "levels": AREA_LEVELS, "page": page, "pages": pages,
        "base_query": urlencode({"q": q, "level": level})}, status_code=status_code)


@router.post("/admin/areas")
def areas_import(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor,
                 _csrf: CsrfChecked, file: UploadDep) -> Response:
    """Import a division-code file (code,name); only codes within the administrator's area are accepted."""
    actor.require("area.manage")
    try:
        path = _stash(settings.data_dir / "uploads", file.filename or "areas.csv", file.check())
        try:
            parsed = areas.parse_division_file(path)
        finally:
            path.unlink(missing_ok=True)
        outside = [r.code for r in parsed if not actor.sees(r.code)]
        if outside:
            raise ValidationFailed([FieldError("code", f"{len(outside)} 个代码不在您的辖区内，例如 {outside[0]}")])
        changed = areas.upsert_areas(session, rows=parsed)
    except ValidationFailed as exc:
        session.rollback()
        return _areas(request, session, actor, errors=exc.errors, status_code=422)
    audit.record(session, actor=actor, action="area.import", extra={"file": file.filename, "changed": changed})
    session.commit()
    return _areas(request, session, actor, done=changed)


def _require_backup(session: Session, actor: Actor) -> None:
    # A backup holds the whole installation: an administrator may take one only when every household and
    # account in it lies within their jurisdiction (a one-county installation), else the server's `doudi backup`.
    actor.require("system.backup")
    if covers_everything(actor):
        return
    foreign = (session.scalar(select(Household.id).where(outside_area(Household.area_code, actor)).limit(1))
               or session.scalar(select(User.id).where(outside_area(User.area_code, actor)).limit(1)))
    if foreign is not None:
        raise PermissionDenied("本系统含有其他辖区的数据，整库备份只能由服务器管理员运行 doudi backup")


@router.get("/admin/backup")
def backup_page(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor) -> Response:
    """Existing backups and a button to make one."""
    _require_backup(session, actor)
    return render(request, "admin/backup.html", {"backups": list_backups(settings.data_dir), "made": None})


@router.post("/admin/backup")
def backup_now(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor,
               _csrf: CsrfChecked) -> Response:
    """Make a backup now (audited)."""
    _require_backup(session, actor)
    # The backup may seal the audit log, on a connection of its own: on SQLite this request's own pending write
    # (its session's renewal) would make it wait for this one.
    session.commit()
    path = make_backup(request.app.state.engine, data_dir=settings.data_dir)
    audit.record(session, actor=actor, action="system.backup", extra={"file": path.name})
    session.commit()
    return render(request, "admin/backup.html", {"backups": list_backups(settings.data_dir), "made": path.name})
