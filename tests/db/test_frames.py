"""The database-frame layer on both backends: types survive a round trip; insert, upsert, update, returning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy import JSON, Connection, Date, DateTime, Numeric, String, Table, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from doudi.db.base import Versioned
from doudi.db.dialect import dialect_of
from doudi.db.frames import read_frame, read_frame_in, send_frame, stage_frame, write_frame
from doudi.db.types import JSONText


class _Base(DeclarativeBase):
    """A metadata of its own: these tables exist only inside each test's rolled-back transaction."""


class Payment(Versioned, _Base):
    """A table with every type the new domains use, a natural key and optimistic locking."""

    __tablename__ = "frame_test_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    note: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    due_on: Mapped[date | None] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    urgent: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


T: Table = Payment.__table__  # type: ignore[assignment]


@pytest.fixture
def conn(connection: Connection) -> Iterator[Connection]:
    """The test connection with the scratch table created (dropped by the rollback)."""
    _Base.metadata.create_all(connection)
    yield connection


def _frame(n: int = 3) -> pl.DataFrame:
    return pl.DataFrame({
        "ref": [f"P{i}" for i in range(n)],
        "note": ["", None, "逗号,引号\"与换行\n"][:n] + ["x"] * max(0, n - 3),
        "amount": pl.Series([Decimal("1234.50"), Decimal("0.01"), Decimal("999999999999.99")][:n]
                            + [Decimal("1")] * max(0, n - 3), dtype=pl.Decimal(14, 2)),
        "due_on": [date(2026, 2, 28), None, date(2024, 2, 29)][:n] + [None] * max(0, n - 3),
        "paid_at": pl.Series([datetime(2026, 12, 4, 8, 30, 15, 123456, tzinfo=UTC), None,
                              datetime(2026, 1, 1, tzinfo=UTC)][:n] + [None] * max(0, n - 3),
                             dtype=pl.Datetime("us", "UTC")),
        "urgent": [True, False, True][:n] + [False] * max(0, n - 3),
        "detail": [{"bank": "农行", "n": 1}, None, {"bank": "", "n": 2}][:n] + [None] * max(0, n - 3),
        "extra": ['{"a": [1, 2]}', None, '{"b": "乙"}'][:n] + [None] * max(0, n - 3),
    })


def _read_all(conn: Connection) -> pl.DataFrame:
    return read_frame(conn, select(T).order_by(T.c.ref))


def test_insert_round_trip_keeps_every_type(conn: Connection) -> None:
    """Values come back exactly: empty vs null text, decimals, dates, UTC times, booleans, JSON."""
    written = write_frame(conn, Payment, _frame())
    assert written.rows == 3
    got = _read_all(conn)
    assert got.schema["amount"] == pl.Decimal(14, 2) and got.schema["due_on"] == pl.Date
    assert got.schema["paid_at"] == pl.Datetime("us", "UTC") and got.schema["urgent"] == pl.Boolean
    assert got["note"].to_list() == ["", None, "逗号,引号\"与换行\n"]
    assert got["amount"].to_list() == [Decimal("1234.50"), Decimal("0.01"), Decimal("999999999999.99")]
    assert got["due_on"].to_list() == [date(2026, 2, 28), None, date(2024, 2, 29)]
    assert got["paid_at"].to_list() == [datetime(2026, 12, 4, 8, 30, 15, 123456, tzinfo=UTC), None,
                                        datetime(2026, 1, 1, tzinfo=UTC)]
    assert got["urgent"].to_list() == [True, False, True]
    # JSON columns read back as JSON text; a Struct column was encoded on the way in.
    assert got["detail"].str.json_decode(pl.Struct({"bank": pl.String, "n": pl.Int64})).to_list() == [
        {"bank": "农行", "n": 1}, None, {"bank": "", "n": 2}]
    assert [None if v is None else v.replace(" ", "") for v in got["extra"].to_list()] == [
        '{"a":[1,2]}', None, '{"b":"乙"}']
    # Python-side defaults are applied like SQLAlchemy's own INSERT: status 'pending', version 1.
    assert got["status"].to_list() == ["pending"] * 3 and got["version"].to_list() == [1, 1, 1]


def test_returning_gives_ids_for_each_key(conn: Connection) -> None:
    """Insert with RETURNING: every new row's id, joined back by its key."""
    out = write_frame(conn, Payment, _frame(), returning=["id", "ref"]).returned
    assert sorted(out["ref"].to_list()) == ["P0", "P1", "P2"]
    stored = dict(conn.execute(select(T.c.ref, T.c.id)).all())
    assert dict(zip(out["ref"].to_list(), out["id"].to_list(), strict=True)) == stored


def test_upsert_inserts_new_and_updates_only_changed_rows(conn: Connection) -> None:
    """Upsert on the natural key: one new row, one changed (version bumped), one unchanged (untouched)."""
    write_frame(conn, Payment, _frame())
    change = pl.DataFrame({"ref": ["P0", "P1", "P9"], "note": ["改", None, "新"],
                           "amount": pl.Series([Decimal("1234.50"), Decimal("0.01"), Decimal("5.00")],
                                               dtype=pl.Decimal(14, 2))})
    written = write_frame(conn, Payment, change, mode="upsert", conflict=["ref"], only_changed=True,
                          returning=["ref", "version"])
    assert written.rows == 2
    assert dict(written.returned.iter_rows()) == {"P0": 2, "P9": 1}
    got = _read_all(conn)
    assert got.select("ref", "note", "version").rows() == [
        ("P0", "改", 2), ("P1", None, 1), ("P2", "逗号,引号\"与换行\n", 1), ("P9", "新", 1)]


def test_update_checks_the_version(conn: Connection) -> None:
    """Update by id with the version read earlier: a row changed meanwhile is left alone and not counted."""
    write_frame(conn, Payment, _frame())
    ids = dict(conn.execute(select(T.c.ref, T.c.id)).all())
    conn.execute(T.update().where(T.c.ref == "P1").values(version=T.c.version + 1))  # someone else's edit
    frame = pl.DataFrame({"id": [ids["P0"], ids["P1"]], "version": [1, 1], "status": ["paid", "paid"]})
    assert write_frame(conn, Payment, frame, mode="update", match=["id"]).rows == 1
    got = _read_all(conn)
    assert got.select("ref", "status", "version").rows()[:2] == [("P0", "paid", 2), ("P1", "pending", 2)]


def test_chunks_and_grouped_constants(conn: Connection) -> None:
    """Many chunks and a group hint (constant columns written into the statement on SQLite) give the same rows."""
    n = 2_500
    frame = pl.DataFrame({"ref": [f"R{i:05d}" for i in range(n)],
                          "status": ["paid" if i % 3 else "held" for i in range(n)],
                          "note": [None if i % 3 else "它's" for i in range(n)],
                          "amount": pl.Series([Decimal(i) / 100 for i in range(n)], dtype=pl.Decimal(14, 2))})
    staged = stage_frame(dialect_of(conn), Payment, frame, group_by=["status"], chunk_rows=700)
    assert send_frame(conn, staged) == n
    got = read_frame_in(conn, select(T.c.ref, T.c.status, T.c.note, T.c.amount), T.c.ref,
                        frame["ref"].to_list()).sort("ref")
    assert got.equals(frame.sort("ref"))


def test_a_bad_row_in_a_late_chunk_writes_none_of_the_rows(conn: Connection) -> None:
    """A chunk is sent while the next is encoded (PostgreSQL); a key clash in the third of three chunks still
    fails the whole write, naming the constraint, and the savepoint holds none of the earlier chunks' rows."""
    refs = [f"B{i:04d}" for i in range(1_500)] + ["B0007"]  # row 1,501 repeats row 8's key
    frame = pl.DataFrame({"ref": refs, "amount": pl.Series([Decimal(1)] * len(refs), dtype=pl.Decimal(14, 2))})
    with pytest.raises(Exception, match=r"(?i)unique"), conn.begin_nested():
        write_frame(conn, Payment, frame, chunk_rows=600)
    assert conn.scalar(select(func.count()).select_from(T)) == 0


def test_read_schema_renames_and_narrows(conn: Connection) -> None:
    """A schema names and types the selected columns in order; an empty result keeps it."""
    write_frame(conn, Payment, _frame())
    got = read_frame(conn, select(T.c.id, T.c.amount).where(T.c.ref == "P1"),
                     schema={"payment_id": pl.Int32, "yuan": pl.Float64})
    assert got.schema == pl.Schema([("payment_id", pl.Int32), ("yuan", pl.Float64)]) and got["yuan"].to_list() == [0.01]
    empty = read_frame(conn, select(T.c.id, T.c.amount).where(T.c.ref == "none"))
    assert empty.height == 0 and empty.schema == pl.Schema([("id", pl.Int64), ("amount", pl.Decimal(14, 2))])


def test_unknown_column_is_refused(conn: Connection) -> None:
    """A frame column the table lacks is an error naming it, before anything is written."""
    with pytest.raises(ValueError, match="amout"):
        write_frame(conn, Payment, pl.DataFrame({"ref": ["X"], "amout": [1]}))


def test_single_row_and_all_constant_columns(conn: Connection) -> None:
    """A frame whose every column holds one value still writes each of its rows."""
    frame = pl.DataFrame({"ref": ["ONE"], "amount": pl.Series([Decimal("7.00")], dtype=pl.Decimal(14, 2))})
    assert write_frame(conn, Payment, frame).rows == 1
    twice = pl.DataFrame({"note": ["同", "同"], "ref": ["A", "B"]}).with_columns(
        amount=pl.lit(Decimal("1.00"), pl.Decimal(14, 2)))
    write_frame(conn, Payment, twice.select("note", "amount", "ref"), group_by=["note"])
    assert read_frame(conn, select(T.c.ref).order_by(T.c.ref))["ref"].to_list() == ["A", "B", "ONE"]


def test_column_wise_read_matches_the_driver(conn: Connection) -> None:
    """Plain columns are read column-wise where the backend can (COPY on PostgreSQL); the values, nulls, empty
    text, quotes and literals with '%' in the filter come back exactly as the driver gives them."""
    frame = _frame().with_columns(note=pl.Series(["50%的", None, "它's,\"x\"\n"]))
    write_frame(conn, Payment, frame)
    stmt = (select(T.c.ref, T.c.note, T.c.amount, T.c.due_on, T.c.urgent, T.c.version)
            .where(T.c.note.is_(None) | T.c.note.like("%'s%") | T.c.note.startswith("50%")).order_by(T.c.ref))
    got = read_frame(conn, stmt)
    by_driver = pl.DataFrame([dict(r._mapping) for r in conn.execute(stmt)],
                             schema={"ref": pl.String, "note": pl.String, "amount": pl.Decimal(14, 2),
                                     "due_on": pl.Date, "urgent": pl.Boolean, "version": pl.Int64})
    assert got.equals(by_driver)
    assert got["note"].to_list() == ["50%的", None, "它's,\"x\"\n"] and got["urgent"].to_list() == [True, False, True]
