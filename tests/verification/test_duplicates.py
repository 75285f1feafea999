"""Duplicate feed rows are recorded once and reported (issue 14 item 2): within a file, across overlapping
files, and in the 核对报告, which must not add a repeated month twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.ingest.models import RejectedRow
from doudi.registry.models import IncomeFact
from doudi.verification import duplicates, facts, payload, reporting, service
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord
from doudi.verification.sources import load_sources
from tests.factories import make_areas, make_household

ACTOR = system_actor("370784", name="test")


def _rows(head, months: range, amount: str = "1500") -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return [{"record_id": f"t{m}", "id_number": head.id_number, "name": head.name, "birth_date": "", "sex": "",
             "address": "", "month": f"2025-{m:02d}", "income_kind": "wage", "amount": amount, "payer": "某厂"}
            for m in months]


def _csv(rows: list[dict[str, str]], path: Path) -> Path:
    pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]}).write_csv(path)
    return path


def _rejects(db: Session, batch_id: int) -> dict[int, tuple[str, str]]:
    return {r.row_number: (r.field, r.reason) for r in db.scalars(select(RejectedRow).where(
        RejectedRow.batch_id == batch_id))}


def test_repeats_within_one_file_are_recorded_once(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    head = make_household(db).members[0].person
    rows = _rows(head, range(1, 4))  # rows 1–3: January to March
    rows += [rows[0]]  # row 4: row 1 again
    rows += [dict(rows[1], amount="9999")]  # row 5: row 2's record number, another amount
    rows += [dict(rows[2], record_id=""), dict(rows[2], record_id="")]  # rows 6–7: no number, same content twice
    out = ingest_file(db, actor=ACTOR, source_key="tax", path=_csv(rows, tmp_path / "tax.csv"))
    b = out.batch
    assert (b.rows_total, b.rows_ok, b.rows_rejected, b.rows_duplicate) == (7, 4, 0, 3)
    rejects = _rejects(db, b.id)
    assert sorted(rejects) == [4, 5, 7]
    assert rejects[4] == ("record_id", "重复行：与本文件第 1 条记录记录编号相同，只记录一次")
    assert rejects[5] == ("record_id", "重复行：与本文件第 2 条记录记录编号相同，只记录一次")
    assert rejects[7] == ("row", "重复行：与本文件第 6 条记录内容完全相同，只记录一次")
    stored = db.scalars(select(FeedRecord.row_number).where(FeedRecord.batch_id == b.id)).all()
    assert sorted(stored) == [1, 2, 3, 6]


def test_overlapping_files_do_not_add_a_month_twice(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    hh = make_household(db)
    head = hh.members[0].person
    first = ingest_file(db, actor=ACTOR, source_key="tax", path=_csv(_rows(head, range(1, 7)), tmp_path / "a.csv"))
    second = ingest_file(db, actor=ACTOR, source_key="tax", path=_csv(_rows(head, range(4, 10)), tmp_path / "b.csv"))
    assert (second.batch.rows_ok, second.batch.rows_duplicate) == (3, 3)  # April–June were in the first file
    assert _rejects(db, second.batch.id)[1] == (
        "record_id", f"重复行：与批次 {first.batch.id} 第 4 条记录记录编号相同，只记录一次")
    third = ingest_file(db, actor=ACTOR, source_key="tax", path=_csv(_rows(head, range(1, 10)), tmp_path / "c.csv"))
    assert (third.batch.rows_ok, third.batch.rows_duplicate) == (0, 9)

    service.record_authorisation(db, actor=ACTOR, household_id=hh.id, person_id=head.id, signed_by_name=head.name,
                                 signed_on=date(2026, 1, 5), document_ref="SQ-1")
    req = service.create_request(db, actor=ACTOR, household_id=hh.id, requested_on=date(2026, 1, 9))
    feed = db.scalars(select(IncomeFact).where(IncomeFact.source_kind == "feed")).all()
    assert len(feed) == 9 and sum(f.amount for f in feed) == Decimal("13500.00")
    # 安丘 averages over the 12 months of 2025: 9 × 1,500 / 12 = 1,125 a month (not 1,500 nor 1,875).
    compare = reporting.build_report(db, actor=ACTOR, request_id=req.id).report.income_compare.row(0, named=True)
    assert compare["verified"] == 1125.0


def test_only_batches_reaching_the_same_people_are_compared(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    head = make_household(db).members[0].person
    rows = _rows(head, range(1, 4))
    other = ingest_file(db, actor=system_actor("440703", name="jm"), source_key="tax",
                        path=_csv(rows, tmp_path / "o.csv"))
    own = ingest_file(db, actor=ACTOR, source_key="tax", path=_csv([*rows, rows[0]], tmp_path / "a.csv"))
    assert other.batch.rows_ok == 3 and (own.batch.rows_ok, own.batch.rows_duplicate) == (3, 1)
    national = ingest_file(db, actor=system_actor(name="cli"), source_key="tax", national=True,
                           path=_csv(_rows(head, range(1, 5)), tmp_path / "n.csv"))
    assert (national.batch.rows_ok, national.batch.rows_duplicate) == (4, 0)  # a county batch is narrower
    town = ingest_file(db, actor=system_actor("370784001", name="town"), source_key="tax",
                       path=_csv(_rows(head, range(4, 6)), tmp_path / "t.csv"))
    assert (town.batch.rows_ok, town.batch.rows_duplicate) == (1, 1)  # April came in the national batch


def test_earlier_batches_are_read_only_when_their_periods_meet() -> None:
    src = load_sources()["tax"]
    jan = duplicates.PriorBatch(1, [], (date(2025, 1, 1), date(2025, 1, 1)), pl.DataFrame())
    mar = duplicates.PriorBatch(2, [], (date(2025, 3, 1), date(2025, 3, 1)), pl.DataFrame())
    tracker = duplicates.Tracker(src, 3, [jan, mar])
    values = {"row_number": 1, "record_id": "x", "name": "张三", "month": date(2025, 3, 1), "income_kind": "wage",
              "amount": 1.0}
    good = pl.DataFrame([[values.get(c)] for c in payload.schema(src)], schema=payload.schema(src))
    kept, repeats = tracker.split(good)
    assert tracker.loaded == {2} and kept.height == 1 and repeats.height == 0


def test_repeats_stored_earlier_count_once_in_facts(db: Session) -> None:
    make_areas(db)
    hh = make_household(db)
    pid = hh.members[0].person_id
    # Three linked tax rows of one person: batch 1 rows 1 and 2 carry the same content, batch 2 row 1 the same
    # record number t1 with another amount.
    tax = pl.DataFrame({"person_id": [pid, pid, pid], "source_key": ["tax"] * 3, "batch_id": [1, 1, 2],
                        "row_number": [1, 2, 1], "period": [date(2025, 1, 1)] * 3, "record_id": ["t1"] * 3,
                        "income_kind": ["wage"] * 3, "amount": [1500.0, 1500.0, 900.0],
                        "month": [date(2025, 1, 1)] * 3})
    members = pl.DataFrame({"person_id": [pid], "household_id": [hh.id]})
    out = facts.feed_facts({"tax": tax}, members, as_of=date(2026, 1, 9))
    assert out["amount"].to_list() == [1500.0]  # same content once; the same record number once
    assert db.scalar(select(func.count()).select_from(FeedRecord)) == 0
