"""Coordination across verification services: what an uploaded feed sets off (ingest, link, re-answer)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, on_behalf
from doudi.config import Settings
from doudi.ingest.models import IngestBatch
from doudi.verification import ingest, resolve, service


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
        shutil.copyfileobj(upload.file, fh)
        path = Path(fh.name)
    try:
        try:
            out = ingest.ingest_file(session, actor=actor, source_key=source_key, path=path,
                                     file_name=upload.filename or path.name)
        except Exception as exc:
            session.rollback()
            if not isinstance(exc, PermissionError):
                ingest.record_failure(session, actor=actor, source_key=source_key, path=path, error=str(exc),
                                      file_name=upload.filename)
                session.commit()
            raise
        # Linking the rows and re-answering open requests follow from the upload, whoever uploaded it.
        if not out.already and out.pending_linkage:
            resolve.resolve_batch(session, actor=on_behalf(actor), batch_id=out.batch.id)
        service.refresh_open_requests(session, actor=on_behalf(actor))
        return out.batch, out.already
    finally:
        path.unlink(missing_ok=True)
