"""Shared monitoring test data: two townships, recipient households, and agency feeds ingested for real."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.cases.models import Enrollment
from doudi.registry.models import Household
from doudi.verification.ingest import ingest_file
from tests.factories import VILLAGE_A1, VILLAGE_B1, make_areas, make_household

ON = date(2026, 11, 16)
ACTOR = system_actor("370784", name="test")


@dataclass
class County:
    """The households the tests use: A (township A, 低保, head dies), B (township B, 低保, review overdue)."""

    a: Household
    b: Household


def enroll(db: Session, hh: Household, *, amount: str, program: str = "dibao",
           next_review: date = date(2027, 6, 1)) -> Enrollment:
    """A live enrollment since 2025-01."""
    e = Enrollment(household_id=hh.id, area_code=hh.area_code, program=program, status="active",
                   monthly_amount=Decimal(amount), start_month=date(2025, 1, 1), next_review_on=next_review, version=1)
    db.add(e)
    db.flush()
    return e


def county(db: Session) -> County:
    """Household A in township A with a review not yet due; household B in township B overdue since 2026-11-01.

    Amounts are the current 低保 assessment without income (安丘 rural standard 537): A = 2 × 537 + 10 % of 537 for
    the minor = 1 127.70; B = 537."""
    make_areas(db)
    a = make_household(db, VILLAGE_A1, head_name="张守业", members=[("张小丽", "child", date(2012, 3, 1), "F")])
    b = make_household(db, VILLAGE_B1, head_name="李长顺")
    enroll(db, a, amount="1127.70")
    enroll(db, b, amount="537", next_review=date(2026, 11, 1))
    return County(a, b)


def death_feed(db: Session, tmp: Path, rows: list[tuple[str, str, str]], name: str = "death.csv") -> int:
    """Ingest a 死亡/火化 feed of (id_number, name, date) rows for the county; returns the batch id."""
    frame = pl.DataFrame({"record_id": [f"{Path(name).stem}-{i}" for i in range(len(rows))],
                          "id_number": [r[0] for r in rows],
                          "name": [r[1] for r in rows], "date_of_death": [r[2] for r in rows],
                          "record_kind": ["cremation"] * len(rows)})
    path = tmp / name
    frame.write_csv(path)
    return ingest_file(db, actor=ACTOR, source_key="death", path=path, area_code="370784").batch.id
