"""A line's roll and a return row's return are enforced by the database (triggers, checked once per statement on
PostgreSQL): no line of a missing roll, whether inserted row by row or by a frame write; a line moved to a
missing roll is refused; deleting a roll or a return deletes its rows; a referenced id cannot change."""

from __future__ import annotations

import sqlite3
from datetime import date

import polars as pl
import psycopg
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.db.frames import write_frame
from doudi.payments.models import BankReturn, BankReturnRow, PaymentLine, PaymentRoll
from tests.factories import VILLAGE_A1

# A frame write goes to the driver (COPY, executemany): its refusal is the driver's own integrity error.
REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


def _roll(db: Session, month: date) -> PaymentRoll:
    r = PaymentRoll(area_code="370784", month=month, program="dibao", version=1)
    db.add(r)
    db.flush()
    return r


def _lines(roll_id: int, keys: list[str]) -> pl.DataFrame:
    return pl.DataFrame({
        "roll_id": [roll_id] * len(keys), "payee_key": keys, "program": "dibao", "component": "basic",
        "covers": "basic", "entitlement_month": date(2026, 1, 1), "amount_fen": 53700, "area_code": VILLAGE_A1,
        "end_to_end_id": [f"DDT-{k}" for k in keys]})


def _count(db: Session, model: type[PaymentLine] | type[BankReturnRow], **where: int) -> int:
    stmt = select(func.count()).select_from(model)
    for col, value in where.items():
        stmt = stmt.where(getattr(model, col) == value)
    return int(db.scalar(stmt) or 0)


def test_a_line_needs_its_roll(db: Session) -> None:
    roll = _roll(db, date(2026, 1, 1))
    missing = roll.id + 1000
    # A frame write (COPY on PostgreSQL) of two good lines and one of a missing roll writes nothing.
    frame = pl.concat([_lines(roll.id, ["H1", "H2"]), _lines(missing, ["H3"])])
    with pytest.raises(REFUSED), db.begin_nested():
        write_frame(db, PaymentLine, frame)
    assert _count(db, PaymentLine, roll_id=roll.id) == 0
    write_frame(db, PaymentLine, _lines(roll.id, ["H1", "H2"]))
    assert _count(db, PaymentLine, roll_id=roll.id) == 2
    with pytest.raises(REFUSED), db.begin_nested():
        db.add(PaymentLine(roll_id=missing, payee_key="H4", program="dibao", component="basic", covers="basic",
                           entitlement_month=date(2026, 1, 1), amount_fen=100, area_code=VILLAGE_A1,
                           end_to_end_id="DDT-H4"))
        db.flush()
    # Moving a line (a re-issue) to another roll: to an existing one it goes, to a missing one it is refused.
    other = _roll(db, date(2026, 2, 1))
    db.execute(update(PaymentLine).where(PaymentLine.payee_key == "H1").values(roll_id=other.id))
    assert (_count(db, PaymentLine, roll_id=roll.id), _count(db, PaymentLine, roll_id=other.id)) == (1, 1)
    with pytest.raises(REFUSED), db.begin_nested():
        db.execute(update(PaymentLine).where(PaymentLine.payee_key == "H2").values(roll_id=missing))
    # Updating other columns of many lines (reconciliation) is not a move.
    db.execute(update(PaymentLine).where(PaymentLine.roll_id.in_([roll.id, other.id])).values(status="paid"))
    assert _count(db, PaymentLine, roll_id=roll.id) == 1
    # A referenced roll keeps its id; deleting it deletes its lines (and only its lines).
    with pytest.raises(REFUSED), db.begin_nested():
        db.execute(update(PaymentRoll).where(PaymentRoll.id == roll.id).values(id=missing))
    db.execute(delete(PaymentRoll).where(PaymentRoll.id == roll.id))
    assert (_count(db, PaymentLine, roll_id=roll.id), _count(db, PaymentLine, roll_id=other.id)) == (0, 1)


def test_a_return_row_needs_its_return(db: Session) -> None:
    ret = BankReturn(sha256="a" * 64, filename="r.csv", format="csv", area_code="370784")
    db.add(ret)
    db.flush()
    rows = pl.DataFrame({"return_id": [ret.id, ret.id], "row_no": [2, 3], "end_to_end_id": ["X1", "X2"],
                         "outcome": "unmatched"})
    with pytest.raises(REFUSED), db.begin_nested():
        write_frame(db, BankReturnRow, rows.with_columns(return_id=pl.Series([ret.id, ret.id + 1000])))
    write_frame(db, BankReturnRow, rows)
    assert _count(db, BankReturnRow, return_id=ret.id) == 2
    db.execute(delete(BankReturn).where(BankReturn.id == ret.id))
    assert _count(db, BankReturnRow, return_id=ret.id) == 0
