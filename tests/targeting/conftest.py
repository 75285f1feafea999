"""A tiny county for the 核对成效 tests (see test_effect.py for the hand computation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.registry.models import AssetFact, Household, IncomeFact
from doudi.verification.models import FeedRecord, VerificationRequest
from tests.factories import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, make_areas, make_household

START, END = date(2025, 1, 1), date(2026, 12, 31)


def _income(session: Session, hh: Household, kind: str, amount: int, source: str) -> None:
    session.add(IncomeFact(household_id=hh.id, person_id=hh.members[0].person_id, kind=kind, amount=Decimal(amount),
                           source_kind=source, source_key=None if source == "declared" else "tax",
                           period_start=START, period_end=END))


def _asset(session: Session, hh: Household, kind: str, value: int, source: str) -> None:
    session.add(AssetFact(household_id=hh.id, person_id=hh.members[0].person_id, kind=kind, quantity=1,
                          value=Decimal(value), source_kind=source, period_start=date(2026, 1, 1), period_end=END))


def _request(session: Session, hh: Household, on: date, purpose: str = "application") -> None:
    session.add(VerificationRequest(household_id=hh.id, area_code=hh.area_code, requested_on=on, due_on=on,
                                    period_start=START, period_end=on, purpose=purpose, status="complete", version=1))


def _single(session: Session, area: str, name: str) -> Household:
    hh = make_household(session, area, head_name=name, hukou="rural")
    hh.members[0].person.birth_date = date(1976, 3, 1)
    return hh


def build_county(db: Session) -> dict[str, Household]:
    """Four single adults in two townships, their declared and feed facts, and five verification requests."""
    make_areas(db)
    h1, h2 = _single(db, VILLAGE_A1, "甲"), _single(db, VILLAGE_A2, "乙")
    h3, h4 = _single(db, VILLAGE_A1, "丙"), _single(db, VILLAGE_B1, "丁")
    _income(db, h1, "transfer", 200, "declared")
    _income(db, h1, "business", 500, "feed")  # hidden business income
    _income(db, h2, "transfer", 300, "declared")
    _asset(db, h2, "vehicle", 50000, "feed")  # a car not declared
    _asset(db, h2, "financial", 10000, "declared")
    _asset(db, h2, "financial", 30000, "feed")  # deposits under-declared by 20,000
    _income(db, h3, "transfer", 400, "declared")
    _income(db, h3, "transfer", 450, "feed")  # the feed's figure wins for the same kind and month
    _income(db, h4, "transfer", 600, "declared")
    _income(db, h4, "transfer", 500, "feed")  # declared more than the agency reports
    batch = IngestBatch(kind="feed", source_key="death", file_name="death.csv", file_sha256="0" * 64,
                        status=BatchStatus.DONE, area_code="370784")
    db.add(batch)
    db.flush()
    db.add(FeedRecord(batch_id=batch.id, row_number=1, period=date(2026, 6, 1), person_id=h3.members[0].person_id,
                      match_method="id", data={}))  # the registry does not know of the death
    _request(db, h1, date(2026, 6, 15))
    _request(db, h2, date(2026, 6, 15))
    _request(db, h3, date(2026, 7, 10))
    _request(db, h4, date(2026, 6, 20), purpose="review")
    _request(db, h1, date(2026, 9, 1))  # after the period asked for
    db.flush()
    return {"h1": h1, "h2": h2, "h3": h3, "h4": h4}


@pytest.fixture
def county(db: Session) -> dict[str, Household]:
    """The tiny county in the test's rolled-back transaction."""
    return build_county(db)
