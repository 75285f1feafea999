"""Bulk writes of feed rows inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite.

Both go through the Session's own connection, so the rows commit or roll back with the batch record.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from doudi.db.engine import is_postgres

FEED_COLUMNS = ("batch_id", "row_number", "id_number", "period", "person_id", "match_method", "probability", "data")
REJECT_COLUMNS = ("batch_id", "row_number", "field", "reason", "raw")


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def copy_frame(session: Session, table: str, frame: pl.DataFrame, columns: tuple[str, ...]) -> int:
    """Append the frame's rows to `table` (columns in the given order); returns the row count."""
    if frame.height == 0:
        return 0
    frame = frame.select(columns)
    if is_postgres(session):
        cols = ", ".join(columns)
        with _driver(session).cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as cp:
            for part in frame.iter_slices(100_000):
                cp.write(part.write_csv(include_header=False, date_format="%Y-%m-%d"))
        return frame.height
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    if dates:  # SQLite keeps dates as ISO text, which is what SQLAlchemy's Date type reads back
        frame = frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates)
    cur = _driver(session).cursor()
    try:
        for part in frame.iter_slices(50_000):
            cur.executemany(sql, part.iter_rows())
    finally:
        cur.close()
    return frame.height


def write_feed_records(session: Session, frame: pl.DataFrame) -> int:
    """Append staged feed rows (columns as FEED_COLUMNS)."""
    return copy_frame(session, "feed_records", frame, FEED_COLUMNS)


def write_rejects(session: Session, frame: pl.DataFrame) -> int:
    """Append quarantined rows (columns as REJECT_COLUMNS; `raw` is JSON text)."""
    return copy_frame(session, "rejected_rows", frame, REJECT_COLUMNS)
