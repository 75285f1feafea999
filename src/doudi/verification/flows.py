"""Coordination across verification services: what a feed sets off (ingest, link, re-answer), shared by the
console, the API, the command line and the demo."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf
from doudi.config import Settings
from doudi.core.errors import ValidationFailed
from doudi.core.uploads import MAX_UPLOAD, copy_capped
from doudi.ingest.models import IngestBatch
from doudi.verification import hooks, ingest, resolve, service
from doudi.verification.ingest import IngestOutcome
from doudi.verification.resolve import ResolveOutcome


def link_and_answer(session: Session, *, actor: Actor, outcome: IngestOutcome, link: bool = True
                    ) -> ResolveOutcome | None:
    """What follows a new batch: link the rows that had no usable ID number (unless `link` is off) and re-answer
    the open verification requests. Runs in the caller's transaction; None when nothing needed linking."""
    resolved = None
    # Rows with a valid number nobody registered are resolved too: they may be a registry person's second
    # number (a possible double registration).
    unregistered = outcome.batch.rows_ok - outcome.matched_by_id - outcome.pending_linkage
    if link and not outcome.already and (outcome.pending_linkage or unregistered > 0):
        resolved = resolve.resolve_batch(session, actor=actor, batch_id=outcome.batch.id)
    service.refresh_open_requests(session, actor=actor)
    if not outcome.already:  # e.g. the monitoring comparison of the new rows (registered by that domain)
        hooks.run_after_ingest(session, actor=actor, batch=outcome.batch)
    return resolved


def ingest_and_link(session: Session, *, actor: Actor, source_key: str, path: Path, file_name: str | None = None,
                    area_code: str | None = None, national: bool = False, link: bool = True,
                    max_rows: int | None = None) -> tuple[IngestOutcome, ResolveOutcome | None]:
    """Ingest one feed file, link its rows and re-answer open requests, in the caller's transaction (the
    console, the API and the demo; the command line commits the ingest first, then calls `link_and_answer`)."""
    outcome = ingest.ingest_file(session, actor=actor, source_key=source_key, path=path, file_name=file_name,
                                 area_code=area_code, national=national, max_rows=max_rows)
    # Linking the rows and re-answering open requests follow from the feed, whoever brought it in.
    return outcome, link_and_answer(session, actor=on_behalf(actor), outcome=outcome, link=link)


def ingest_upload(session: Session, settings: Settings, actor: Actor, source_key: str, upload: UploadFile
                  ) -> tuple[IngestBatch, bool]:
    """Store an uploaded feed in a temporary file, ingest it, link the rest and re-answer open requests, all in
    the caller's transaction (the caller commits once). A failed ingest is rolled back and recorded as a
    failed batch (committed) before the error goes on."""
    actor.require("feed.ingest")
    suffix = Path(upload.filename or "feed.csv").suffix or ".csv"
    tmp_dir = settings.data_dir / "uploads"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=suffix, delete=False) as fh:
        path = Path(fh.name)
        try:
            copy_capped(upload.file, fh, max_bytes=MAX_UPLOAD)
        except ValidationFailed:
            path.unlink(missing_ok=True)
            raise
    try:
        try:
            out, _ = ingest_and_link(session, actor=actor, source_key=source_key, path=path,
                                     file_name=upload.filename or path.name,
                                     max_rows=settings.feed_upload_max_rows)
        except Exception as exc:
            session.rollback()
            if not isinstance(exc, PermissionError):
                ingest.record_failure(session, actor=actor, source_key=source_key, path=path, error=str(exc),
                                      file_name=upload.filename)
                session.commit()
            raise
        return out.batch, out.already
    finally:
        path.unlink(missing_ok=True)
