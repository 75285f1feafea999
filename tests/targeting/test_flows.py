"""County-wide verification and the monitoring review step, on the tiny county with real feed files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.core import storage
from doudi.registry.models import Household, IncomeFact, Person
from doudi.targeting import flows
from doudi.verification.ingest import ingest_file

ACTOR = system_actor(name="test")


@pytest.fixture(autouse=True)
def payload_storage(tmp_path: Path) -> Iterator[Path]:
    """Feed payloads in the test's own temporary storage."""
    before = storage._root
    storage.configure(tmp_path / "data")
    yield tmp_path / "data"
    storage.configure(before)  # type: ignore[arg-type]


def _tax(db: Session, tmp: Path, hh: Household) -> None:
    person = hh.members[0].person
    frame = pl.DataFrame({"record_id": ["tax-1", "tax-2"], "id_number": [person.id_number] * 2,
                          "name": [person.name] * 2, "month": ["2026-04", "2026-05"], "income_kind": ["wage"] * 2,
                          "amount": ["1200.00", "1300.00"], "payer": ["某公司"] * 2})
    frame.write_csv(tmp / "tax.csv")
    ingest_file(db, actor=ACTOR, source_key="tax", path=tmp / "tax.csv", area_code="370784")


def test_verify_county_once(db: Session, county: dict[str, Household], tmp_path: Path) -> None:
    _tax(db, tmp_path, county["h1"])
    added = flows.verify_county(db, actor=ACTOR, on=date(2026, 6, 15))
    assert added == 2  # two monthly wage rows of 甲
    again = flows.verify_county(db, actor=ACTOR, on=date(2026, 6, 15))
    assert again == 0  # the same feed rows are never recorded twice
    wages = db.scalars(select(IncomeFact.amount).where(IncomeFact.household_id == county["h1"].id,
                                                       IncomeFact.source_kind == "feed", IncomeFact.kind == "wage"))
    assert sorted(float(a) for a in wages) == [1200.0, 1300.0]
    # Another township's scope adds nothing for 甲 (新安街道).
    town_b = flows.verify_county(db, actor=ACTOR, on=date(2026, 6, 15), area="370784002")
    assert town_b == 0


def test_reviews_record_reported_deaths(db: Session, county: dict[str, Household]) -> None:
    person = county["h2"].members[0].person
    grouped = pl.DataFrame({
        "rule_key": ["death", "vehicle", "unemployment"], "household_id": [county["h2"].id, county["h1"].id,
                                                                         county["h3"].id],
        "person_id": [person.id, None, None],
        "details": [["date_of_death=2026-05-03"], ["plate=鲁G"], ["registered"]]})
    dispositions = {"death": ("suspend", "review", "no_action"), "vehicle": ("review", "no_action"),
                    "unemployment": ("refer", "no_action")}
    reviewed = flows.reviewed_households(grouped, dispositions)
    assert sorted(reviewed["household_id"].to_list()) == sorted([county["h2"].id, county["h1"].id])
    assert flows.record_reported_deaths(db, actor=ACTOR, grouped=grouped) == 1
    db.refresh(person)
    assert person.date_of_death == date(2026, 5, 3)
    assert flows.record_reported_deaths(db, actor=ACTOR, grouped=grouped) == 0  # already recorded
    assert db.scalar(select(func.count()).select_from(Person).where(Person.date_of_death.is_not(None))) == 1
