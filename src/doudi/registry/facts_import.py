"""Bulk import of declared facts (income, assets, expenses, living conditions) from Parquet or CSV files.

Each file becomes one ingest batch (source_kind 'declared'); rows naming an unknown household or person
are quarantined with their row number and reason, the rest are bulk-inserted (db.frames). Files are
keyed by household_no and id_number (the formats are documented in doudi/synth/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.db.frames import write_frame
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry.import_read import ImportFileError
from doudi.registry.import_write import fetch_frame
from doudi.registry.importer import file_sha256
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, LivingCondition, Person

KINDS: dict[str, Any] = {"income": IncomeFact, "assets": AssetFact, "expenses": ExpenseFact, "living": LivingCondition}
REQUIRED: dict[str, list[str]] = {
    "income": ["household_no", "id_number", "kind", "amount", "period_start", "period_end"],
    "assets": ["household_no", "id_number", "kind", "quantity", "value", "description", "exempt", "as_of"],
    "expenses": ["household_no", "id_number", "kind", "amount", "period_start", "period_end"],
    "living": ["household_no", "kind", "value", "observed_on"],
}


@dataclass
class FactImportResult:
    """Counts of one fact file's import."""

    kind: str
    batch_id: int | None
    duplicate_of: int | None
    rows_ok: int = 0
    rows_rejected: int = 0


def _read(path: Path) -> pl.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pl.read_parquet(path)
    frame = pl.read_csv(path, infer_schema_length=0)
    dates = [c for c in ("period_start", "period_end", "as_of", "observed_on") if c in frame.columns]
    return frame.with_columns(pl.col(dates).str.to_date())


def _rows(kind: str, frame: pl.DataFrame, batch_id: int) -> pl.DataFrame:
    base = {"source_kind": pl.lit("declared"), "batch_id": pl.lit(batch_id)}
    if kind == "income" or kind == "expenses":
        sel = frame.select(
            "household_id", "person_id", "kind", pl.col("amount").cast(pl.Float64), "period_start", "period_end", **base
        )
    elif kind == "assets":
        sel = frame.select(
            "household_id",
            "person_id",
            "kind",
            pl.col("quantity").cast(pl.Int64),
            pl.col("value").cast(pl.Float64),
            pl.col("description").str.slice(0, 200),
            pl.col("exempt").cast(pl.Boolean),
            period_start="as_of",
            period_end="as_of",
            **base,
        )
    else:
        sel = frame.select(
            "household_id",
            "kind",
            pl.col("value").cast(pl.Utf8).str.slice(0, 64),
            period_start="observed_on",
            period_end="observed_on",
            **base,
        )
    return sel


def import_facts(session: Session, *, actor: Actor, kind: str, path: Path) -> FactImportResult:
    """Load one declared-fact file; idempotent by content hash."""
    actor.require("import.run")
    if kind not in KINDS:
        raise ValueError(f"unknown fact kind {kind}")
    sha = file_sha256(path)
    source_key = f"declared_{kind}"
    earlier = session.scalar(
        select(IngestBatch.id).where(
            IngestBatch.kind == "import", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha
        )
    )
    if earlier is not None:
        return FactImportResult(kind, None, earlier)
    frame = _read(path).with_row_index("row_number", offset=1)
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:

        raise ImportFileError(f"{path.name} 缺少列：{', '.join(missing)}")
    hh = fetch_frame(
        session,
        [Household.household_no, Household.id],
        Household.household_no,
        frame["household_no"].unique().sort().to_list(),
        {"household_no": pl.Utf8, "household_id": pl.Int64},
    )
    frame = frame.join(hh, on="household_no", how="left", maintain_order="left")
    if "id_number" in frame.columns:
        people = fetch_frame(
            session,
            [Person.id_number, Person.id],
            Person.id_number,
            frame["id_number"].drop_nulls().unique().sort().to_list(),
            {"id_number": pl.Utf8, "person_id": pl.Int64},
        )
        frame = frame.join(people, on="id_number", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(person_id=pl.lit(None, dtype=pl.Int64), id_number=pl.lit(None, dtype=pl.Utf8))
    reason = (
        pl.when(pl.col("household_id").is_null())
        .then(pl.format("户编号 {} 不在家庭档案中", "household_no"))
        .when(pl.col("id_number").is_not_null() & pl.col("person_id").is_null())
        .then(pl.lit("身份证号不在家庭档案中"))
    )
    frame = frame.with_columns(reason=reason)
    bad, good = frame.filter(pl.col("reason").is_not_null()), frame.filter(pl.col("reason").is_null())
    batch = IngestBatch(
        kind="import",
        source_key=source_key,
        file_name=path.name[:255],
        file_sha256=sha,
        created_by=actor.user_id,
        rows_total=frame.height,
        rows_ok=good.height,
        rows_rejected=bad.height,
        status="done",
        finished_at=datetime.now(UTC),
        details={},
    )
    session.add(batch)
    session.flush()
    write_frame(session, KINDS[kind], _rows(kind, good, batch.id))
    write_frame(session, RejectedRow, bad.select(
        pl.lit(batch.id, pl.Int64).alias("batch_id"), "row_number",
        pl.when(pl.col("household_id").is_null()).then(pl.lit("household_no")).otherwise(pl.lit("id_number"))
        .alias("field"), "reason",
        pl.struct("household_no", pl.col("id_number").cast(pl.Utf8)).alias("raw")))
    audit.record(
        session,
        actor=actor,
        action="registry.import_facts",
        object_type="ingest_batch",
        object_id=batch.id,
        extra={"file": path.name, "kind": kind, "rows_ok": good.height, "rows_rejected": bad.height},
    )
    return FactImportResult(kind, batch.id, None, good.height, bad.height)
