"""Duplicate feed rows, found on the validated frame before anything is written: recorded once, reported.

A row repeats an earlier one — in the same file, or in an earlier batch of the same source whose rows could
be linked to the same people (the same area, a wider one, or a national batch) — when it has:
1. the same agency record number (`record_id`), or
2. for a source whose holdings carry an identifier (sources.yaml `key` with `key_unique`), the same person,
   holding and date (one vehicle plate reported twice as registered on one day), or
3. exactly the same content.
The first occurrence is kept; every repeat goes to quarantine with the row it repeats, so the 核对报告 never
adds an income twice and nothing disappears unreported.

Keys are pairs of 64-bit hashes of the typed values, computed in this process for both sides, so nothing
needs to be stored. Earlier batches are read from their payload files only when their period range meets
the chunk's: a new month's file does not read last month's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import storage
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.verification import payload
from doudi.verification.payload import schema
from doudi.verification.reach import link_prefix
from doudi.verification.sources import Source

KINDS = ("record", "holding", "content")
WHY = {"record": "记录编号相同", "holding": "同一人、同一{key}、同一{period}", "content": "内容完全相同"}
SEEN_SCHEMA = {"kind": pl.Utf8, "h1": pl.UInt64, "h2": pl.UInt64, "batch_id": pl.Int64, "row_number": pl.Int64}
REJECT_SCHEMA = {"row_number": pl.Int64, "field": pl.Utf8, "reason": pl.Utf8, "raw": pl.Utf8}
_PERSON = ("id_number", "id_given", "name", "birth_date")


@dataclass
class PriorBatch:
    """An earlier batch of the same source that the new one is compared with."""

    batch_id: int
    paths: list[Path]  # its payload parts (Parquet)
    period: tuple[date, date] | None  # its rows' period range; None: unknown, always compared
    rows: pl.DataFrame | None = None  # rows read beforehand (batches stored before payload files)


def _keys(rows: pl.DataFrame, source: Source) -> list[tuple[str, list[str]]]:
    """(kind, columns) of the keys this source has."""
    cols = [c for c in schema(source) if c != "row_number"]
    out = [("content", cols)]
    if "record_id" in rows.columns:
        out.insert(0, ("record", ["record_id"]))
    if source.natural_key and source.key_unique:
        period = [source.period] if source.period else []
        out.insert(1, ("holding", [*_PERSON, *source.natural_key, *period]))
    return out


def key_frame(rows: pl.DataFrame, source: Source, batch_id: int) -> pl.DataFrame:
    """One line per row and key kind it has: kind, the two hashes, batch and row number."""
    typed = rows.select(list(schema(source))).cast(schema(source))  # type: ignore[arg-type]
    parts = []
    for kind, cols in _keys(typed, source):
        key = pl.struct(cols)
        frame = typed.select(pl.lit(kind).alias("kind"), key.hash(1).alias("h1"), key.hash(2).alias("h2"),
                             pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("row_number").cast(pl.Int64))
        if kind == "record":
            frame = frame.filter(typed["record_id"].is_not_null())
        elif kind == "holding":
            present = typed.select(pl.all_horizontal([pl.col(c).is_not_null() for c in source.natural_key]))
            frame = frame.filter(present.to_series())
        parts.append(frame)
    return pl.concat(parts) if parts else pl.DataFrame(schema=SEEN_SCHEMA)


def _period_range(rows: pl.DataFrame, source: Source) -> tuple[date, date] | None:
    """The chunk's period range; None when some row has no period (then every earlier batch is compared)."""
    if not source.period or rows.height == 0 or rows[source.period].null_count():
        return None
    lo, hi = rows[source.period].min(), rows[source.period].max()
    return (lo, hi) if isinstance(lo, date) and isinstance(hi, date) else None


@dataclass
class Tracker:
    """Keys of the rows recorded so far (earlier batches as needed, earlier chunks of this file)."""

    source: Source
    batch_id: int
    prior: list[PriorBatch]
    seen: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SEEN_SCHEMA))
    loaded: set[int] = field(default_factory=set)
    period: tuple[date, date] | None = None  # of the rows kept so far

    def _load(self, window: tuple[date, date] | None) -> None:
        """Read the keys of earlier batches whose period range meets the window."""
        parts = []
        for p in self.prior:
            if p.batch_id in self.loaded:
                continue
            if window and p.period and (p.period[1] < window[0] or p.period[0] > window[1]):
                continue
            rows = p.rows
            if rows is None and p.paths:
                rows = pl.scan_parquet(p.paths).select(list(schema(self.source))).collect()
            self.loaded.add(p.batch_id)
            if rows is not None and rows.height:
                parts.append(key_frame(rows, self.source, p.batch_id))
        if parts:
            self.seen = pl.concat([self.seen, *parts])

    def split(self, good: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The chunk's rows without repeats, and the repeats as quarantine rows naming what they repeat."""
        if good.height == 0:
            return good, pl.DataFrame(schema=REJECT_SCHEMA)
        self._load(_period_range(good, self.source))
        keys = key_frame(good, self.source, self.batch_id)
        on = ["kind", "h1", "h2"]
        earlier = keys.join(self.seen.rename({"batch_id": "orig_batch", "row_number": "orig_row"}), on=on)
        first = keys.group_by(on).agg(pl.col("row_number").min().alias("orig_row"))
        inside = keys.join(first, on=on).filter(pl.col("row_number") != pl.col("orig_row")) \
            .with_columns(pl.lit(self.batch_id, pl.Int64).alias("orig_batch"))
        order = {k: i for i, k in enumerate(KINDS)}
        hits = pl.concat([earlier.select("row_number", "kind", "orig_batch", "orig_row"),
                          inside.select("row_number", "kind", "orig_batch", "orig_row")]) \
            .with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_rank")) \
            .sort("row_number", "_rank", "orig_batch", "orig_row").unique("row_number", keep="first") \
            .sort("row_number")
        repeated = hits["row_number"]
        kept = good.filter(~pl.col("row_number").is_in(repeated.implode()))
        self.seen = pl.concat([self.seen, keys.filter(~pl.col("row_number").is_in(repeated.implode()))])
        self._widen(_period_range(kept, self.source))
        return kept, self._rejects(good, hits)

    def _widen(self, window: tuple[date, date] | None) -> None:
        if window is None:
            return
        self.period = window if self.period is None else (min(self.period[0], window[0]),
                                                          max(self.period[1], window[1]))

    def _rejects(self, good: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
        if hits.height == 0:
            return pl.DataFrame(schema=REJECT_SCHEMA)
        src = self.source
        labels = {c.name: c.label for c in src.columns}
        why = dict(WHY, holding=WHY["holding"].format(key="、".join(labels.get(k, k) for k in src.natural_key),
                                                      period=labels.get(src.period or "", "日期")))
        fields = {"record": "record_id", "holding": src.natural_key[0] if src.natural_key else "row",
                  "content": "row"}
        rows = {r["row_number"]: r for r in good.select(pl.all().cast(pl.Utf8)).with_columns(
            pl.col("row_number").cast(pl.Int64)).iter_rows(named=True)}
        out = []
        for h in hits.iter_rows(named=True):
            where = f"本文件第 {h['orig_row']} 条记录" if h["orig_batch"] == self.batch_id else \
                f"批次 {h['orig_batch']} 第 {h['orig_row']} 条记录"
            raw = {k: v for k, v in rows[h["row_number"]].items() if k != "row_number" and v is not None}
            out.append((h["row_number"], fields[h["kind"]], f"重复行：与{where}{why[h['kind']]}，只记录一次",
                        json.dumps(raw, ensure_ascii=False)))
        return pl.DataFrame(out, schema=REJECT_SCHEMA, orient="row")


def prior_batches(session: Session, *, source: Source, batch: IngestBatch) -> list[PriorBatch]:
    """Earlier finished batches of the source whose rows could link to the people this one links to."""
    mine = link_prefix(batch)
    out = []
    stmt = select(IngestBatch).where(IngestBatch.kind == "feed", IngestBatch.source_key == source.key,
                                     IngestBatch.status == BatchStatus.DONE, IngestBatch.id != batch.id)
    for b in session.scalars(stmt.order_by(IngestBatch.id)):
        theirs = link_prefix(b)
        if theirs is not None and (mine is None or not mine.startswith(theirs)):
            continue  # a batch of another (or a narrower) area: its rows never reach this one's people
        entry = (b.details or {}).get(payload.KEY)
        if not isinstance(entry, dict):  # stored before payload files: read now, while the session is at hand
            out.append(PriorBatch(b.id, [], None, payload.read(session, b)))
            continue
        paths = [storage.path(p["path"]) for p in entry.get("parts", [])]
        out.append(PriorBatch(b.id, paths, _stored_range(b, paths, source)))
    return out


def _stored_range(b: IngestBatch, paths: list[Path], source: Source) -> tuple[date, date] | None:
    known = (b.details or {}).get("period_range")
    if isinstance(known, list) and len(known) == 2:
        return date.fromisoformat(known[0]), date.fromisoformat(known[1])
    if not source.period or not paths:
        return None
    col = pl.scan_parquet(paths).select(pl.col(source.period).min().alias("lo"), pl.col(source.period).max()
                                        .alias("hi"), pl.col(source.period).null_count().alias("nulls")).collect()
    lo, hi, nulls = col.row(0)
    return (lo, hi) if not nulls and isinstance(lo, date) and isinstance(hi, date) else None
