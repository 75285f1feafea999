"""Feed ingestion on both backends: validation, quarantine, lineage, formats, idempotency, atomicity."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.core import storage
from doudi.core.errors import ValidationFailed
from doudi.db.engine import make_engine, sessionmaker_for
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.verification import payload
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord
from doudi.verification.sources import load_sources
from tests.factories import make_areas, make_household

ACTOR = system_actor("370784", name="test")


def tax_rows(id_number: str, name: str) -> list[dict[str, str | None]]:
    """Six good rows (one with a blanked ID) and three bad ones at known row numbers."""
    good: list[dict[str, str | None]] = [
        {"record_id": f"r{m}", "id_number": id_number, "name": name, "birth_date": "1970-05-01", "sex": "男",
         "address": "新安街道东村", "month": f"2025-0{m}", "income_kind": "wage", "amount": "1,500.50",
         "payer": "某厂"} for m in range(1, 6)]
    good.append(dict(good[0], record_id="r6", id_number=None, month="2025-06"))
    bad = [
        dict(good[0], record_id="b1", month="2025-13"),  # row 7: impossible month
        dict(good[0], record_id="b2", amount="abc"),  # row 8: not a number
        dict(good[0], record_id="b3", name=None, income_kind="bonus"),  # row 9: two problems
    ]
    return good + bad


def _write(rows: list[dict[str, str | None]], path: Path) -> Path:
    frame = pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]})
    suffix = path.suffix
    if suffix == ".csv":
        frame.write_csv(path)
    elif suffix == ".jsonl":
        frame.write_ndjson(path)
    elif suffix == ".parquet":
        frame.write_parquet(path)
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(frame.columns)
        for r in frame.iter_rows():
            ws.append(list(r))
        wb.save(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl", ".parquet"])
def test_ingest_validates_quarantines_and_links(db: Session, tmp_path: Path, suffix: str) -> None:
    make_areas(db)
    hh = make_household(db)
    head = hh.members[0].person
    path = _write(tax_rows(head.id_number, head.name), tmp_path / f"tax{suffix}")
    out = ingest_file(db, actor=ACTOR, source_key="tax", path=path)
    b = out.batch
    assert (b.rows_total, b.rows_ok, b.rows_rejected, b.status) == (9, 6, 3, "done")
    assert len(b.file_sha256) == 64 and b.finished_at is not None
    rejects = db.scalars(select(RejectedRow).where(RejectedRow.batch_id == b.id).order_by(RejectedRow.row_number)).all()
    assert [(r.row_number, r.field) for r in rejects] == [(7, "month"), (8, "amount"), (9, "name")]
    assert "2025-13" in rejects[0].reason and "所得项目" in rejects[2].reason  # every problem of the row, named
    assert (rejects[1].raw if isinstance(rejects[1].raw, dict) else json.loads(rejects[1].raw))["amount"] == "abc"
    recs = db.scalars(select(FeedRecord).where(FeedRecord.batch_id == b.id).order_by(FeedRecord.row_number)).all()
    assert [r.match_method for r in recs] == ["id"] * 5 + ["pending"]  # row 6 has no ID: probabilistic later
    assert all(r.person_id == head.id for r in recs[:5])
    assert recs[0].period == date(2025, 1, 1)
    rows = payload.read(db, b)  # the typed rows live in the batch's payload file, not in feed_records
    assert rows["row_number"].to_list() == [1, 2, 3, 4, 5, 6]
    first = payload.to_dicts(rows.head(1), load_sources()["tax"])[0]
    assert (first["amount"], first["sex"], first["month"], first["id_given"]) == (1500.5, "M", "2025-01", None)
    assert rows["amount"].dtype == pl.Float64 and rows["month"].dtype == pl.Date
    assert rows.filter(pl.col("row_number") == 6)["id_number"].to_list() == [None]
    part = b.details["payload"]["parts"][0]  # type: ignore[index]
    assert (part["rows"], part["first_row"], part["last_row"]) == (6, 1, 6)
    assert hashlib.sha256(storage.load(part["path"])).hexdigest() == part["sha256"]


def test_same_file_twice_is_a_no_op(db: Session, tmp_path: Path) -> None:
    path = _write(tax_rows("370784197005010011", "张三"), tmp_path / "tax.csv")
    first = ingest_file(db, actor=ACTOR, source_key="tax", path=path)
    again = ingest_file(db, actor=ACTOR, source_key="tax", path=path)
    assert again.already and again.batch.id == first.batch.id
    n = db.scalar(select(func.count()).select_from(FeedRecord).where(FeedRecord.batch_id == first.batch.id))
    assert n == 6


def test_ragged_csv_rows_and_gbk_encoding(db: Session, tmp_path: Path) -> None:
    header = "record_id,id_number,name,birth_date,sex,address,month,income_kind,amount,payer\n"
    lines = ["a,,张三,1970-01-01,男,东村,2025-01,wage,100,厂\n",
             "b,,李四,1970-01-01,女,东村,2025-01,wage,100,厂,多余\n",  # row 2: one field too many
             "c,,王五,1970-01-01,男,东村,2025-02,wage,200,厂\n"]
    path = tmp_path / "gbk.csv"
    path.write_bytes((header + "".join(lines)).encode("gb18030"))
    out = ingest_file(db, actor=ACTOR, source_key="tax", path=path)
    assert (out.batch.rows_total, out.batch.rows_ok, out.batch.rows_rejected) == (3, 2, 1)
    reject = db.scalars(select(RejectedRow).where(RejectedRow.batch_id == out.batch.id)).one()
    assert reject.row_number == 2 and "列数" in reject.reason
    stored = payload.read(db, out.batch)
    assert stored["name"].to_list() == ["张三", "王五"] and stored["row_number"].to_list() == [1, 3]


def test_missing_required_column_refuses_the_file(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "tax.csv"
    pl.DataFrame({"name": ["张三"], "month": ["2025-01"]}).write_csv(path)
    with pytest.raises(ValidationFailed) as exc:
        ingest_file(db, actor=ACTOR, source_key="tax", path=path)
    assert {e.field for e in exc.value.errors} == {"income_kind", "amount"}


def test_interrupted_batch_leaves_nothing_and_retry_succeeds(fresh_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C after the first chunk was written: the transaction rolls back, nothing half-written remains."""
    rows = [dict(r, record_id=f"{r['record_id']}-{i}") for i in range(50) for r in tax_rows("", "张三")[:6]]
    path = _write(rows, tmp_path / "tax.csv")
    factory = sessionmaker_for(make_engine(fresh_database.url))

    def stop(done: int) -> None:
        if done >= 100:
            raise KeyboardInterrupt

    with factory() as s, pytest.raises(KeyboardInterrupt):
        try:
            ingest_file(s, actor=ACTOR, source_key="tax", path=path, chunk_rows=100, progress=stop)
        finally:
            s.rollback()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(FeedRecord)) == 0
        assert s.scalar(select(func.count()).select_from(IngestBatch)) == 0
        out = ingest_file(s, actor=ACTOR, source_key="tax", path=path, chunk_rows=100)
        s.commit()
        assert out.batch.rows_ok == 300
        assert s.scalar(select(func.count()).select_from(FeedRecord)) == 300


def test_other_date_and_number_formats_are_accepted_in_row_order(db: Session, tmp_path: Path) -> None:
    """Rows not in the canonical formats go through the lenient second pass and come back typed, in order."""
    base: dict[str, str | None] = {
        "record_id": "x", "id_number": "", "name": "张三", "birth_date": "1970-05-01", "sex": "M",
        "address": "", "month": "2025-01", "income_kind": "wage", "amount": "100", "payer": ""}
    rows = [
        dict(base, record_id="a"),
        dict(base, record_id="b", birth_date="1970/05/01", month="202503", amount="1,500.50", sex="女"),
        dict(base, record_id="c", month="2025/04", birth_date="19700501"),
        dict(base, record_id="d", month="2025-02-30"),  # a month given as a day that does not exist: quarantined
        dict(base, record_id="e", birth_date="1970-02-30"),  # an impossible date in every format: quarantined
        dict(base, record_id="f", birth_date="1970.05.01 00:00:00"),
    ]
    out = ingest_file(db, actor=ACTOR, source_key="tax", path=_write(rows, tmp_path / "tax.csv"))
    assert (out.batch.rows_ok, out.batch.rows_rejected) == (4, 2)
    rejects = db.scalars(select(RejectedRow).where(RejectedRow.batch_id == out.batch.id)
                         .order_by(RejectedRow.row_number)).all()
    assert [(r.row_number, r.field) for r in rejects] == [(4, "month"), (5, "birth_date")]
    assert "2025-02-30" in rejects[0].reason and "1970-02-30" in rejects[1].reason
    typed = payload.read(db, out.batch)
    assert typed["record_id"].to_list() == ["a", "b", "c", "f"]
    assert typed["month"].to_list() == [date(2025, 1, 1), date(2025, 3, 1), date(2025, 4, 1), date(2025, 1, 1)]
    assert set(typed["birth_date"].to_list()) == {date(1970, 5, 1)}
    assert typed["amount"].to_list() == [100.0, 1500.5, 100.0, 100.0]
    assert typed["sex"].to_list() == ["M", "F", "M", "M"]
    periods = db.scalars(select(FeedRecord.period).where(FeedRecord.batch_id == out.batch.id)
                         .order_by(FeedRecord.row_number)).all()
    assert periods == typed["month"].to_list()


def test_encoding_change_mid_file_fails_cleanly(fresh_database, tmp_path: Path, payload_storage: Path) -> None:  # type: ignore[no-untyped-def]
    """A GBK row after 1,500 UTF-8 rows: found by the background reader after chunks were written; all undone."""
    header = "record_id,id_number,name,birth_date,sex,address,month,income_kind,amount,payer\n"
    good = "".join(f"r{i},,张三,1970-01-01,男,东村,2025-01,wage,100,厂\n" for i in range(1500))
    path = tmp_path / "mixed.csv"
    path.write_bytes((header + good).encode() + "r,,李四,1970-01-01,男,东村,2025-01,wage,100,厂\n".encode("gbk"))
    factory = sessionmaker_for(make_engine(fresh_database.url))
    with factory() as s, pytest.raises(ValidationFailed) as exc:
        try:
            ingest_file(s, actor=ACTOR, source_key="tax", path=path, chunk_rows=500)
        finally:
            s.rollback()
    assert "编码" in exc.value.errors[0].message
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(FeedRecord)) == 0
        assert s.scalar(select(func.count()).select_from(IngestBatch)) == 0
    assert not list((payload_storage / "files").rglob("*.part"))  # no partial payload file is left behind


def test_batches_stored_before_payload_files_still_read(db: Session) -> None:
    """Rows whose typed content is JSON in feed_records.data (the earlier layout) are read the same way."""
    from doudi.verification import facts

    make_areas(db)
    head = make_household(db).members[0].person
    batch = IngestBatch(kind="feed", source_key="bank", file_name="old.csv", file_sha256="0" * 64, status="done",
                        details={}, rows_total=1, rows_ok=1)
    db.add(batch)
    db.flush()
    db.add(FeedRecord(batch_id=batch.id, row_number=1, id_number=head.id_number, period=date(2025, 12, 31),
                      person_id=head.id, match_method="id", probability=1.0,
                      data={"name": head.name, "institution": "农商银行", "product": "deposit", "balance": 30000.0,
                            "as_of": "2025-12-31", "id_given": None}))
    db.flush()
    rows = payload.read(db, batch)
    assert rows.select("row_number", "balance", "as_of", "id_number").row(0) == (
        1, 30000.0, date(2025, 12, 31), head.id_number)
    rec = facts.load_records(db, person_ids=[head.id]).row(0, named=True)
    assert rec["data"]["institution"] == "农商银行" and rec["data"]["as_of"] == "2025-12-31"
