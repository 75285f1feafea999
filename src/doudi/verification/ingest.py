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
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from doudi.areas.codes import level_of
from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.config import get_settings
from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.db.dialect import FrameDialect
from doudi.db.frames import frame_dialect, read_frame
from doudi.ingest.models import BatchStatus, IngestBatch, RejectedRow
from doudi.registry.models import Household, Membership, Person
from doudi.verification import duplicates, loader, payload
from doudi.verification.reach import link_prefix
from doudi.verification.readers import declared_rows, read_chunks
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


NATIONAL_PLACEHOLDER = "000000"  # the command line's default area: not a jurisdiction


def registry_ids(session: Session, prefix: str | None = None) -> pl.DataFrame:
    """Registry persons' ID numbers and ids for the exact-ID join: those whose current household lies under
    `prefix`, or everyone (None)."""
    stmt = select(Person.id_number, Person.id)
    if prefix is not None:
        stmt = under(stmt.join(Membership, (Membership.person_id == Person.id) & Membership.valid_to.is_(None))
                     .join(Household, Household.id == Membership.household_id),
                     Household.area_code, prefix).distinct()
    return read_frame(session, stmt, schema={"id_number": pl.Utf8, "person_id": pl.Int64})


def installation_counties(session: Session) -> list[str]:
    """The county-level areas this installation holds households in."""
    return sorted(c for c in session.scalars(select(func.substr(Household.area_code, 1, 6)).distinct()) if c)


def default_area(session: Session) -> str:
    """The area a command-line ingest belongs to when none is given: the installation's only county; with
    several (or none), the operator must say (a clear error, never a silent national batch)."""
    counties = installation_counties(session)
    if len(counties) == 1:
        return counties[0]
    if not counties:
        raise ValidationFailed([FieldError("area", "尚无登记家庭，无法确定数据所属区划：请用 --area 指定")])
    raise ValidationFailed([FieldError(
        "area", f"本系统有 {len(counties)} 个县（{'、'.join(counties[:5])}{'…' if len(counties) > 5 else ''}），"
                "请用 --area 指定数据所属区划，或用 --national 声明为全国数据")])


def _batch_area(session: Session, actor: Actor, area_code: str | None, national: bool) -> str:
    """The area a new batch belongs to: the given one (inside the actor's area), else the actor's own."""
    if national:
        if not actor.system:  # linking to people in every county is for the system administrator alone
            raise PermissionDenied("只有系统管理员可以在服务器上将数据声明为全国数据")
        return area_code or actor.area_code
    area = area_code or actor.area_code
    try:
        level_of(area)
    except ValueError:
        raise ValidationFailed([FieldError("area", f"区划代码 {area!r} 无效")]) from None
    if area == NATIONAL_PLACEHOLDER:
        raise ValidationFailed([FieldError("area", "须指定数据所属区划（--area），或声明为全国数据（--national）")])
    if not actor.sees(area):
        raise ValidationFailed([FieldError("area", f"区划 {area} 不在您的辖区内")])
    if session.get(Area, area) is None:
        raise ValidationFailed([FieldError("area", f"区划 {area} 不存在")])
    return area


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
    rejects: pl.DataFrame  # REJECT_COLUMNS: invalid rows and repeated ones
    rows: int
    by_method: dict[str, int]
    columns: list[str]
    duplicates: int = 0  # of the rejects, rows repeating an earlier one (recorded once)


def too_many_rows(limit: int, seen: int) -> ValidationFailed:
    """The error for a file over the row cap, naming the cap."""
    return ValidationFailed([FieldError("file", f"文件数据行超过单次导入上限 {limit:,} 行（已读到 {seen:,} 行）；"
                                                "请按月份或区划拆分后分批导入")])


def _prepare(path: Path, source: Source, persons: pl.DataFrame, batch_id: int, chunk_rows: int,
             parts: payload.PartWriter, dialect: FrameDialect, tracker: duplicates.Tracker, max_rows: int
             ) -> Generator[_Prepared, None, None]:
    """Read, validate, drop repeats, link and store the payload of each chunk (frame work, no database); past
    `max_rows` data rows the whole file is refused (the caller's transaction keeps nothing)."""
    first = True
    seen = 0
    for chunk in read_chunks(path, chunk_rows=chunk_rows):
        seen += chunk.frame.height + len(chunk.broken)
        if seen > max_rows:
            raise too_many_rows(max_rows, seen)
        frame = chunk.frame
        columns = frame.columns
        if first and (missing := missing_required_columns(columns, source)):
            raise ValidationFailed([FieldError(c, "文件缺少必需的列") for c in missing])
        first = False
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c) for c in source.column_names
                                   if c not in frame.columns)
        checked = validate_chunk(frame.select("row_number", *source.column_names), source)
        good, repeats = tracker.split(checked.good)  # before anything is written: a repeat is recorded once
        parts.write(good)
        linked = _link_by_id(good.select("row_number", "id_number", period_expr(source)), persons)
        rejects = pl.concat([checked.rejected, repeats]).sort("row_number") \
            .with_columns(pl.lit(batch_id).alias("batch_id"))
        if chunk.broken:
            rejects = pl.concat([rejects, pl.DataFrame(
                [(batch_id, n, "row", reason, json.dumps({"text": raw}, ensure_ascii=False))
                 for n, reason, raw in chunk.broken],
                schema={"batch_id": pl.Int64, "row_number": pl.Int64, "field": pl.Utf8, "reason": pl.Utf8,
                        "raw": pl.Utf8}, orient="row")], how="diagonal_relaxed")
        methods = dict(linked["match_method"].value_counts().iter_rows())
        yield _Prepared(loader.stage_feed_records(linked, batch_id=batch_id, dialect=dialect), rejects,
                        frame.height + len(chunk.broken), methods, columns, repeats.height)


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
    national: bool = False,
    file_name: str | None = None,
    chunk_rows: int = 500_000,
    progress: Progress | None = None,
    max_rows: int | None = None,
) -> IngestOutcome:
    """Validate and load one feed file as one batch of the actor's area (or of `area_code`, inside it; or a
    national batch); its rows are linked to people of that area only. A file of more than `max_rows` data
    rows (default DOUDI_FEED_MAX_ROWS) is refused whole. The caller commits."""
    actor.require("feed.ingest")
    source = get_source(source_key)
    area = _batch_area(session, actor, area_code, national)
    limit = max_rows or get_settings().feed_max_rows
    if (in_footer := declared_rows(path)) is not None and in_footer > limit:  # Parquet: refused before reading
        raise too_many_rows(limit, in_footer)
    started = time.perf_counter()
    sha = file_sha256(path)
    existing = session.scalar(select(IngestBatch).where(
        IngestBatch.kind == "feed", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha,
        IngestBatch.area_code == area))
    if existing is not None and existing.status == BatchStatus.DONE:
        return IngestOutcome(existing, already=True)
    if existing is not None:  # a failed earlier attempt: retried from scratch in this transaction
        session.execute(delete(RejectedRow).where(RejectedRow.batch_id == existing.id))
        session.delete(existing)
        session.flush()
    batch = IngestBatch(kind="feed", source_key=source_key, file_name=(file_name or path.name)[:255],
                        file_sha256=sha, created_by=actor.user_id, area_code=area, national=national,
                        status=BatchStatus.RUNNING, details={})
    session.add(batch)
    session.flush()

    persons = registry_ids(session, link_prefix(batch))
    parts = payload.PartWriter(source)
    tracker = duplicates.Tracker(source, batch.id, duplicates.prior_batches(session, source=source, batch=batch))
    total = ok = rejected = repeated = by_id = pending = 0
    ignored: list[str] | None = None
    declared = set(source.column_names)
    chunks = _prepare(path, source, persons, batch.id, min(chunk_rows, limit + 1), parts, frame_dialect(session),
                      tracker, limit)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as pool:
            for prepared in _ahead(chunks, pool):
                if ignored is None:
                    ignored = sorted(set(prepared.columns) - declared - {"row_number"})
                ok += loader.write_staged(session, prepared.records)
                loader.write_rejects(session, prepared.rejects)
                total += prepared.rows
                rejected += prepared.rejects.height - prepared.duplicates
                repeated += prepared.duplicates
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
    if tracker.period is not None:  # lets a later batch skip this one when their periods do not meet
        details["period_range"] = [tracker.period[0].isoformat(), tracker.period[1].isoformat()]
    batch.rows_total, batch.rows_ok, batch.rows_rejected = total, ok, rejected
    batch.rows_duplicate = repeated
    batch.status, batch.finished_at, batch.details = BatchStatus.DONE, datetime.now(UTC), details
    session.flush()
    audit.record(session, actor=actor, action="feed.ingest", object_type="ingest_batch", object_id=batch.id,
                 area_code=batch.area_code,
                 extra={"source": source_key, "file": batch.file_name, "sha256": sha, "rows": total,
                        "rejected": rejected, "duplicates": repeated, **({"national": True} if national else {})})
    return IngestOutcome(batch, seconds=time.perf_counter() - started, matched_by_id=by_id,
                         pending_linkage=pending, details=details)


def record_failure(session: Session, *, actor: Actor, source_key: str, path: Path, error: str,
                   area_code: str | None = None, file_name: str | None = None) -> IngestBatch:
    """After a rolled-back ingest, keep a 'failed' batch as lineage (no rows); a retry replaces it."""
    sha = file_sha256(path)
    area = area_code or actor.area_code
    batch = session.scalar(select(IngestBatch).where(
        IngestBatch.kind == "feed", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha,
        IngestBatch.area_code == area))
    if batch is None:
        batch = IngestBatch(kind="feed", source_key=source_key, file_name=(file_name or path.name)[:255],
                            file_sha256=sha, created_by=actor.user_id, area_code=area)
        session.add(batch)
    batch.status, batch.finished_at, batch.details = BatchStatus.FAILED, datetime.now(UTC), {"error": error[:1000]}
    session.flush()
    audit.record(session, actor=actor, action="feed.ingest", object_type="ingest_batch", object_id=batch.id,
                 area_code=batch.area_code, outcome="failed", extra={"source": source_key, "error": error[:300]})
    return batch
