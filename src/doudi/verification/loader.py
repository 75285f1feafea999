"""Bulk writes of feed rows inside the caller's transaction, through the database-frame layer.

Both go through the Session's own connection, so the rows commit or roll back with the batch record.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy.orm import Session

from doudi.db.dialect import FrameDialect
from doudi.db.dialect import Staged as Staged  # ingest names it loader.Staged
from doudi.db.frames import frame_dialect, send_frame, stage_frame, write_frame
from doudi.ingest.models import RejectedRow
from doudi.verification.models import FeedRecord

FEED_COLUMNS = ("row_number", "id_number", "period", "person_id", "match_method", "probability")
REJECT_COLUMNS = ("batch_id", "row_number", "field", "reason", "raw")
# `data` held the typed row as JSON before payload files; kept for batches stored that way, '{}' for new rows.
_EMPTY_DATA = "{}"


def stage_feed_records(frame: pl.DataFrame, *, batch_id: int, dialect: FrameDialect) -> Staged:
    """Prepare one batch's feed rows (columns as FEED_COLUMNS) for writing; pure frame work, no database."""
    rows = frame.select(pl.lit(batch_id, pl.Int64).alias("batch_id"), *FEED_COLUMNS,
                        pl.lit(_EMPTY_DATA).alias("data"))
    # Most rows share their match method and have no person or probability: constants on SQLite.
    return stage_frame(dialect, FeedRecord, rows, group_by=["match_method"])


def write_staged(session: Session, staged: Staged) -> int:
    """Send staged feed rows through the session's connection (COPY or executemany)."""
    return send_frame(session, staged)


def write_feed_records(session: Session, batch_id: int, frame: pl.DataFrame) -> int:
    """Append one batch's feed rows (columns as FEED_COLUMNS)."""
    return write_staged(session, stage_feed_records(frame, batch_id=batch_id, dialect=frame_dialect(session)))


def write_rejects(session: Session, frame: pl.DataFrame) -> int:
    """Append quarantined rows (columns as REJECT_COLUMNS; `raw` is JSON text)."""
    return write_frame(session, RejectedRow, frame.select(REJECT_COLUMNS)).rows
