"""Accepted feed rows, typed, in columnar payload files: one Parquet part per ingest chunk, content-addressed.

`feed_records` keeps for each feed row only what queries filter on and what linking changes (batch, row,
normalised ID number, period, person, match method, probability). The typed row itself — every declared
column, plus `id_given`, the ID as written when it is not a valid number — is in the batch's Parquet
parts, listed in `IngestBatch.details["payload"]`. Writing a 10M-row feed this way costs one columnar
write instead of a JSON document per row, and batch jobs read the parts with Polars.

A part is written under a temporary name in storage and moved under its SHA-256 only once complete, so a
crash never leaves a partial file under a name a batch could reference; an interrupted ingest at most
leaves whole parts no batch references (identical content is reused by the retry).
Row groups are small and ordered by row number, so fetching one household's rows decodes only the
groups that hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import storage
from doudi.ingest.models import IngestBatch
from doudi.verification.models import FeedRecord
from doudi.verification.sources import Source, load_sources
from doudi.verification.validate import column_type, typed_rows

KEY = "payload"
ROW_GROUP = 65_536


def schema(source: Source) -> dict[str, pl.DataType]:
    """Columns of a source's payload file, in order, with their types."""
    out: dict[str, pl.DataType] = {"row_number": pl.Int64(), "id_number": pl.Utf8(), "id_given": pl.Utf8()}
    out.update({c.name: column_type(c) for c in source.columns if c.name != "id_number"})
    return out


class PartWriter:
    """Writes one batch's payload parts into storage; `manifest()` is what the batch record keeps."""

    def __init__(self, source: Source) -> None:
        self.schema = schema(source)
        self.parts: list[dict[str, Any]] = []

    def write(self, good: pl.DataFrame) -> None:
        """Store one chunk's typed good rows (row_number ascending) as a part."""
        if good.height == 0:
            return
        tmp = storage.temp_path(suffix=".parquet")
        try:
            good.select(list(self.schema)).cast(self.schema).write_parquet(  # type: ignore[arg-type]
                tmp, compression="zstd", compression_level=1, row_group_size=ROW_GROUP, statistics=True)
            rel, digest = storage.adopt(tmp, suffix=".parquet")
        finally:
            tmp.unlink(missing_ok=True)
        numbers = good["row_number"]
        self.parts.append({"path": rel, "sha256": digest, "rows": good.height,
                           "first_row": int(numbers.min()), "last_row": int(numbers.max())})  # type: ignore[arg-type]

    def manifest(self) -> dict[str, Any]:
        """The batch's payload entry: format, parts and row count."""
        return {"format": "parquet", "parts": self.parts, "rows": sum(p["rows"] for p in self.parts)}


def _parts(batch: IngestBatch, row_numbers: Sequence[int] | None) -> list[dict[str, Any]] | None:
    entry = (batch.details or {}).get(KEY)
    if not isinstance(entry, dict):
        return None
    parts = list(entry.get("parts", []))
    if row_numbers is not None:
        lo, hi = min(row_numbers, default=0), max(row_numbers, default=-1)
        parts = [p for p in parts if p["first_row"] <= hi and p["last_row"] >= lo]
    return parts


def read(session: Session, batch: IngestBatch, *, row_numbers: Sequence[int] | None = None,
         columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Typed rows of a batch (all, or those numbered), in row order; `columns` narrows what is decoded."""
    source = load_sources()[batch.source_key]
    cols = ["row_number", *(c for c in (columns or schema(source)) if c != "row_number")]
    parts = _parts(batch, row_numbers)
    if parts is None:
        frame = _legacy(session, batch, source, row_numbers)
    elif not parts:
        return pl.DataFrame(schema={c: schema(source)[c] for c in cols})
    else:
        frame_lazy = pl.scan_parquet([storage.path(p["path"]) for p in parts]).select(cols)
        if row_numbers is not None:
            frame_lazy = frame_lazy.filter(pl.col("row_number").is_in(pl.Series(list(row_numbers), dtype=pl.Int64)
                                                                       .implode()))
        frame = frame_lazy.collect()
    return frame.select(cols).sort("row_number")


def _legacy(session: Session, batch: IngestBatch, source: Source, row_numbers: Sequence[int] | None) -> pl.DataFrame:
    """Rows of a batch taken in before payload files, when the typed row was JSON in `feed_records.data`."""
    stmt = select(FeedRecord.row_number, FeedRecord.id_number, FeedRecord.data).where(FeedRecord.batch_id == batch.id)
    if row_numbers is not None:
        stmt = stmt.where(FeedRecord.row_number.in_(list(row_numbers)))
    rows = [{**{k: None if v is None else str(v) for k, v in (data or {}).items()}, "row_number": n, "_id": id_number}
            for n, id_number, data in session.execute(stmt)]
    names = [c.name for c in source.columns]
    text = pl.DataFrame(rows, schema={"row_number": pl.Int64, "_id": pl.Utf8, "id_given": pl.Utf8,
                                      **dict.fromkeys(names, pl.Utf8)})
    typed = typed_rows(text, source, lenient=True)
    return typed.with_columns(text["_id"].alias("id_number"), text["id_given"]).select(list(schema(source)))


def to_dicts(frame: pl.DataFrame, source: Source) -> list[dict[str, Any]]:
    """Rows as plain dicts the way a clerk reads them: dates as YYYY-MM-DD, months as YYYY-MM."""
    formats = {c.name: "%Y-%m" if c.type == "month" else "%Y-%m-%d"
               for c in source.columns if c.type in ("date", "month") and c.name in frame.columns}
    return frame.with_columns(pl.col(c).dt.strftime(f) for c, f in formats.items()).to_dicts()
