"""Take in an agency feed file: validate, quarantine bad rows, link by ID number, load, record lineage.

Everything of one file is written in the caller's single transaction, so a crash leaves nothing behind;
the same file (same source and SHA-256) is taken in once only. Each chunk's frame work (read, validate,
link, payload part) runs in a background thread while the previous chunk is written to the database,
so on two cores Polars and the database work at the same time.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.dialect import FrameDialect
from doudi.db.frames import frame_dialect, read_frame
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry.models import Person
from doudi.verification import loader, payload
from doudi.verification.readers import read_chunks
from doudi.verification.sources import Source, load_sources
from doudi.verification.validate import missing_required_columns, period_expr, validate_chunk

Progress = Callable[[int], None]  # rows handled so far
T = TypeVar("T")


@dataclass
class IngestOutcome:
    """What one ingest did."""

    batch: IngestBatch
    already: bool = False  # the same file had been taken in before; nothing was written
    seconds: float = 0.0
    matched_by_id: int = 0
    pending_linkage: int = 0
    details: dict[str, object] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in 4 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def get_source(source_key: str) -> Source:
    """The declared source, or a clear error listing the valid keys."""
    sources = load_sources()
    if source_key not in sources:
        raise ValidationFailed([FieldError("source", f"未知数据源 {source_key!r}；可选：{', '.join(sources)}")])
    return sources[source_key]


def registry_ids(session: Session) -> pl.DataFrame:
    """Every registry person's ID number and id, as a frame for the exact-ID join."""
    return read_frame(session, select(Person.id_number, Person.id), schema={"id_number": pl.Utf8,
                                                                            "person_id": pl.Int64})


def _link_by_id(good: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """Exact ID match to the registry; rows without a valid ID wait for probabilistic linkage."""
    out = good.join(persons, on="id_number", how="left")
    return out.with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.lit("id"))
        .when(pl.col("id_number").is_not_null()).then(pl.lit("none"))  # a valid number of someone not registered
        .otherwise(pl.lit("pending")).alias("match_method"),
        pl.when(pl.col("person_id").is_not_null()).then(pl.lit(1.0)).otherwise(None).alias("probability"),
    )


@dataclass
class _Prepared:
    """One chunk, validated, linked and with its payload part stored: what remains is the database write."""

    records: loader.Staged
    rejects: pl.DataFrame  # REJECT_COLUMNS
    rows: int
    by_method: dict[str, int]
    columns: list[str]


def _prepare(path: Path, source: Source, persons: pl.DataFrame, batch_id: int, chunk_rows: int,
             parts: payload.PartWriter, dialect: FrameDialect) -> Generator[_Prepared, None, None]:
    """Read, validate, link and store the payload of each chunk (pure frame work, no database)."""
    first = True
    for chunk in read_chunks(path, chunk_rows=chunk_rows):
        frame = chunk.frame
        columns = frame.columns
        if first and (missing := missing_required_columns(columns, source)):
            raise ValidationFailed([FieldError(c, "文件缺少必需的列") for c in missing])
        first = False
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c) for c in source.column_names
                                   if c not in frame.columns)
        checked = validate_chunk(frame.select("row_number", *source.column_names), source)
        parts.write(checked.good)
        linked = _link_by_id(checked.good.select("row_number", "id_number", period_expr(source)), persons)
        rejects = checked.rejected.with_columns(pl.lit(batch_id).alias("batch_id"))
        if chunk.broken:
            rejects = pl.concat([rejects, pl.DataFrame(
                [(batch_id, n, "row", reason, json.dumps({"text": raw}, ensure_ascii=False))
                 for n, reason, raw in chunk.broken],
                schema={"batch_id": pl.Int64, "row_number": pl.Int64, "field": pl.Utf8, "reason": pl.Utf8,
                        "raw": pl.Utf8}, orient="row")], how="diagonal_relaxed")
        methods = dict(linked["match_method"].value_counts().iter_rows())
        yield _Prepared(loader.stage_feed_records(linked, batch_id=batch_id, dialect=dialect), rejects,
                        frame.height + len(chunk.broken), methods, columns)


_END = object()


def _ahead(items: Iterator[T], pool: ThreadPoolExecutor) -> Iterator[T]:
    """Yield the items while the next one is computed in the background (frame work overlaps database writes)."""
    future = pool.submit(next, items, _END)
    while True:
        item = future.result()
        if item is _END:
            return
        future = pool.submit(next, items, _END)
        yield item  # type: ignore[misc]


def ingest_file(
    session: Session,
    *,
    actor: Actor,
    source_key: str,
    path: Path,
    area_code: str | None = None,
    file_name: str | None = None,
    chunk_rows: int = 500_000,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Validate and load one feed file as one batch; the caller commits (or rolls back on error)."""
    actor.require("feed.ingest")
    source = get_source(source_key)
    started = time.perf_counter()
    sha = file_sha256(path)
    existing = session.scalar(select(IngestBatch).where(
        IngestBatch.kind == "feed", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha))
    if existing is not None and existing.status == "done":
        return IngestOutcome(existing, already=True)
    if existing is not None:  # a failed earlier attempt: retried from scratch in this transaction
        session.execute(delete(RejectedRow).where(RejectedRow.batch_id == existing.id))
        session.delete(existing)
        session.flush()
    batch = IngestBatch(kind="feed", source_key=source_key, file_name=(file_name or path.name)[:255],
                        file_sha256=sha, created_by=actor.user_id, area_code=area_code or actor.area_code,
                        status="running", details={})
    session.add(batch)
    session.flush()

    persons = registry_ids(session)
    parts = payload.PartWriter(source)
    total = ok = rejected = by_id = pending = 0
    ignored: list[str] | None = None
    declared = set(source.column_names)
    chunks = _prepare(path, source, persons, batch.id, chunk_rows, parts, frame_dialect(session))
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as pool:
            for prepared in _ahead(chunks, pool):
                if ignored is None:
                    ignored = sorted(set(prepared.columns) - declared - {"row_number"})
                ok += loader.write_staged(session, prepared.records)
                loader.write_rejects(session, prepared.rejects)
                total += prepared.rows
                rejected += prepared.rejects.height
                by_id += prepared.by_method.get("id", 0)
                pending += prepared.by_method.get("pending", 0)
                if progress:
                    progress(total)
    finally:
        chunks.close()
    if total == 0:
        raise ValidationFailed([FieldError("file", "文件中没有数据行")])

    details: dict[str, object] = {"matched_by_id": by_id, "pending_linkage": pending,
                                  "ignored_columns": ignored or [], payload.KEY: parts.manifest()}
    batch.rows_total, batch.rows_ok, batch.rows_rejected = total, ok, rejected
    batch.status, batch.finished_at, batch.details = "done", datetime.now(UTC), details
    session.flush()
    audit.record(session, actor=actor, action="feed.ingest", object_type="ingest_batch", object_id=batch.id,
                 area_code=batch.area_code,
                 extra={"source": source_key, "file": batch.file_name, "sha256": sha, "rows": total,
                        "rejected": rejected})
    return IngestOutcome(batch, seconds=time.perf_counter() - started, matched_by_id=by_id,
                         pending_linkage=pending, details=details)


def record_failure(session: Session, *, actor: Actor, source_key: str, path: Path, error: str,
                   area_code: str | None = None, file_name: str | None = None) -> IngestBatch:
    """After a rolled-back ingest, keep a 'failed' batch as lineage (no rows); a retry replaces it."""
    sha = file_sha256(path)
    batch = session.scalar(select(IngestBatch).where(
        IngestBatch.kind == "feed", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha))
    if batch is None:
        batch = IngestBatch(kind="feed", source_key=source_key, file_name=(file_name or path.name)[:255],
                            file_sha256=sha, created_by=actor.user_id, area_code=area_code or actor.area_code)
        session.add(batch)
    batch.status, batch.finished_at, batch.details = "failed", datetime.now(UTC), {"error": error[:1000]}
    session.flush()
    audit.record(session, actor=actor, action="feed.ingest", object_type="ingest_batch", object_id=batch.id,
                 area_code=batch.area_code, outcome="failed", extra={"source": source_key, "error": error[:300]})
    return batch
