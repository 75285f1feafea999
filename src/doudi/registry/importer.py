"""`doudi import households`: validate a registry file as a whole, commit good households, quarantine bad ones.

Rules of the import:
- A household is imported whole or not at all: if any of its rows fails a check, every row of that
  household is quarantined (the bad rows with their own reasons, the others with a pointer to them),
  so no partial household is ever created.
- The file is authoritative for the households it contains: members missing from a household in the
  file have their membership closed (valid_to = today; history is kept), and a person listed in another
  household than before moves there (the old membership is closed).
- Optional columns absent from the file leave existing values untouched; an empty cell means "none".
- Re-importing a file with the same content is a no-op (content hash); importing changed content only
  writes the rows that differ (upsert by household_no and id_number; versions bump on change).
- Everything happens in the caller's transaction, which commits once; the service never commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import outside_area, outside_area_expr
from doudi.core import clock
from doudi.core.ids import normalize_id_expr
from doudi.db.frames import write_frame
from doudi.ingest.models import BatchStatus, IngestBatch, RejectedRow
from doudi.registry import import_write
from doudi.registry.import_checks import ERROR_SCHEMA, normalise, validate
from doudi.registry.import_read import COLUMNS, ROW, ImportFileError, read_table
from doudi.registry.models import Household, Membership, Person

SOURCE_KEY = "households"
REPORT_COLUMNS = [ROW, "field", "reason", "household_no", "name", "id_number"]


@dataclass
class ImportResult:
    """What an import did (or, for a file imported before, that it did nothing)."""

    file_name: str
    sha256: str
    batch_id: int | None = None
    duplicate_of: int | None = None
    rows_total: int = 0
    rows_ok: int = 0
    rows_rejected: int = 0
    households_ok: int = 0
    households_rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=dict.fromkeys(REPORT_COLUMNS, pl.Utf8)))
    warnings: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """Hex digest of the file's bytes (the identity of an import)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _household_rejections(frame: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
    """Reasons for the otherwise good rows of a household that has a bad row."""
    bad_rows = errors[ROW].unique()
    bad = frame.filter(pl.col(ROW).is_in(bad_rows.implode()) & pl.col("household_no").is_not_null())
    lines = bad.group_by("household_no").agg(lines=pl.col(ROW).sort().cast(pl.Utf8).str.join("、"))
    followers = frame.filter(~pl.col(ROW).is_in(bad_rows.implode())).join(
        lines, on="household_no", how="inner", maintain_order="left"
    )
    return followers.select(
        ROW, field=pl.lit("household_no"), reason=pl.format("同户第 {} 行有误，整户未导入", pl.col("lines"))
    )


def import_households(session: Session, *, actor: Actor, path: Path, today: date | None = None) -> ImportResult:
    """Import a household file (CSV/XLSX); raises ImportFileError for a file that cannot be read at all."""
    actor.require("import.run")
    today = today or clock.today()
    if not path.is_file():
        raise ImportFileError(f"找不到文件 {path}")
    sha = file_sha256(path)
    result = ImportResult(file_name=path.name, sha256=sha)
    earlier = session.scalar(
        select(IngestBatch.id).where(
            IngestBatch.kind == "import", IngestBatch.source_key == SOURCE_KEY, IngestBatch.file_sha256 == sha
        )
    )
    if earlier is not None:
        result.duplicate_of = earlier
        return result
    table = read_table(path)
    result.warnings = table.warnings
    area_codes = list(session.scalars(select(Area.code)))
    frame = normalise(table.frame)
    errors = validate(frame, area_codes=area_codes, today=today,
                      outside=None if actor.system else outside_area_expr(pl.col("area_code"), actor))
    if not actor.system:
        errors = pl.concat([errors, _scope_conflicts(session, frame, actor)])
    errors = table.with_problems(errors)
    errors = pl.concat([errors, _household_rejections(frame, errors)]).sort(ROW)
    rejected_rows = errors[ROW].unique()
    good = frame.filter(~pl.col(ROW).is_in(rejected_rows.implode()))

    batch = IngestBatch(
        kind="import",
        source_key=SOURCE_KEY,
        file_name=path.name[:255],
        file_sha256=sha,
        created_by=actor.user_id,
        rows_total=frame.height,
        status=BatchStatus.RUNNING,
        details={},
    )
    session.add(batch)
    session.flush()
    counts = import_write.write_rows(session, good, present=set(table.columns), today=today)
    raw = frame.filter(pl.col(ROW).is_in(rejected_rows.implode())).select(ROW, *COLUMNS)
    _quarantine(session, batch.id, errors, raw)

    result.batch_id = batch.id
    result.rows_total = frame.height
    result.rows_ok = good.height
    result.rows_rejected = len(rejected_rows)
    result.households_ok = good["household_no"].n_unique()
    result.households_rejected = frame.filter(pl.col(ROW).is_in(rejected_rows.implode()))["household_no"].n_unique()
    result.counts = counts
    result.rejects = errors.join(
        frame.select(ROW, "household_no", "name", pl.col("id_raw").alias("id_number")),
        on=ROW,
        how="left",
        maintain_order="left",
    ).select(REPORT_COLUMNS)
    batch.rows_ok, batch.rows_rejected = result.rows_ok, result.rows_rejected
    batch.status, batch.finished_at = BatchStatus.DONE, datetime.now(UTC)
    batch.details = {
        "households_ok": result.households_ok,
        "households_rejected": result.households_rejected,
        **counts,
        "warnings": result.warnings,
    }
    audit.record(
        session,
        actor=actor,
        action="registry.import",
        object_type="ingest_batch",
        object_id=batch.id,
        extra={
            "file": path.name,
            "sha256": sha,
            "rows_total": result.rows_total,
            "rows_ok": result.rows_ok,
            "rows_rejected": result.rows_rejected,
            **counts,
        },
    )
    return result


def _scope_conflicts(session: Session, frame: pl.DataFrame, actor: Actor) -> pl.DataFrame:
    """Rows that would touch a registered household outside the user's area: an existing household number
    registered elsewhere, or a person who is currently a member of a household elsewhere."""
    keyed = frame.select(ROW, "household_no", normalize_id_expr("id_number").alias("id18"))
    numbers = keyed["household_no"].drop_nulls().unique().to_list()
    ids = keyed["id18"].drop_nulls().unique().to_list()
    outside_hh: dict[str, str] = {}
    outside_person: dict[str, str] = {}
    for i in range(0, max(len(numbers), len(ids)), 5000):  # IN-lists in chunks keep both backends happy
        if numbers[i:i + 5000]:
            outside_hh.update({no: area for no, area in session.execute(
                select(Household.household_no, Household.area_code).where(
                    Household.household_no.in_(numbers[i:i + 5000]), outside_area(Household.area_code, actor)))})
        if ids[i:i + 5000]:
            outside_person.update({n: area for n, area in session.execute(
                select(Person.id_number, Household.area_code)
                .join(Membership, Membership.person_id == Person.id)
                .join(Household, Household.id == Membership.household_id)
                .where(Person.id_number.in_(ids[i:i + 5000]), Membership.valid_to.is_(None),
                       outside_area(Household.area_code, actor)))})
    hh_err = keyed.filter(pl.col("household_no").is_in(list(outside_hh))).select(
        ROW, pl.lit("household_no").alias("field"),
        pl.format("户编号已在辖区外（{}）登记，不能由本辖区导入或修改",
                  pl.col("household_no").replace_strict(outside_hh, default=None)).alias("reason"))
    person_err = keyed.filter(pl.col("id18").is_in(list(outside_person))).select(
        ROW, pl.lit("id_number").alias("field"),
        pl.format("此人是辖区外（{}）家庭的现有成员，须由其所在地办理迁出",
                  pl.col("id18").replace_strict(outside_person, default=None)).alias("reason"))
    return pl.concat([hh_err, person_err]).cast(ERROR_SCHEMA)  # type: ignore[arg-type]


def _quarantine(session: Session, batch_id: int, errors: pl.DataFrame, raw: pl.DataFrame) -> None:
    """Store every rejection with its row number, field, reason and the row as read."""
    if errors.is_empty():
        return
    # The row as read, without its empty cells, as a JSON object.
    raw_of = {r[ROW]: json.dumps({k: v for k, v in r.items() if k != ROW and v is not None}, ensure_ascii=False,
                                 default=str) for r in raw.iter_rows(named=True)}
    write_frame(session, RejectedRow, errors.select(
        pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col(ROW).alias("row_number"), "field", "reason",
        pl.col(ROW).replace_strict(raw_of, default="{}", return_dtype=pl.Utf8).alias("raw")))


def write_report(result: ImportResult, source: Path) -> Path | None:
    """Write `<file>.rejects.csv` next to the imported file (None when nothing was rejected)."""
    if result.rejects.is_empty():
        return None
    target = source.with_name(f"{source.stem}.rejects.csv")
    labels = {
        ROW: "行号",
        "field": "字段",
        "reason": "原因",
        "household_no": "户编号",
        "name": "姓名",
        "id_number": "身份证号",
    }
    result.rejects.rename(labels).write_csv(target, include_bom=True)  # BOM so Excel opens it as UTF-8
    return target
