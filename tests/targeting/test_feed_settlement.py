"""Feed → fact application, by hand: an agency figure supersedes only the member's own declared facts of that kind
and month (and only when it covers them), and a member the 户籍 feed reports as moved out leaves the household, so
the assessment no longer counts them. Real feed files, ingested and linked, then county-wide verification."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.core import storage
from doudi.policy.engine import evaluate_frames
from doudi.policy.registry_frames import read_registry
from doudi.registry.facts_import import import_facts
from doudi.registry.models import Household, IncomeFact, Membership, Revision
from doudi.targeting import flows
from doudi.verification.ingest import ingest_file
from tests.factories import VILLAGE_A1, make_areas, make_household

ACTOR = system_actor(name="test")
ON = date(2026, 10, 1)  # the national pack averages income over the 12 months before: 2025-10 … 2026-09
MONTHS = [date(2025 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(12)]
MOVED_ON = date(2026, 3, 15)


@pytest.fixture(autouse=True)
def payload_storage(tmp_path: Path) -> Iterator[Path]:
    """Feed payloads in the test's own temporary storage."""
    before = storage._root
    storage.configure(tmp_path / "data")
    yield tmp_path / "data"
    storage.configure(before)  # type: ignore[arg-type]


def _declare(db: Session, hh: Household, person_id: int, kind: str, amount: int) -> None:
    for month in MONTHS:
        end = date(month.year, month.month, monthrange(month.year, month.month)[1])
        db.add(IncomeFact(household_id=hh.id, person_id=person_id, kind=kind, amount=Decimal(amount),
                          source_kind="declared", period_start=month, period_end=end))


def _feed(db: Session, tmp: Path, source: str, rows: dict[str, list[str]]) -> None:
    pl.DataFrame(rows).write_csv(tmp / f"{source}.csv")
    ingest_file(db, actor=ACTOR, source_key=source, path=tmp / f"{source}.csv", area_code="370784")


def _per_capita(db: Session, hh: Household, sources: list[str] | None = None) -> float:
    frames = read_registry(db.connection(), on=ON, household_ids=[hh.id], sources=sources)
    return float(evaluate_frames(frames, ON).households["pc_income_all"][0])


def test_partial_feed_and_moved_out_member(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, members=[("李秀英", "spouse", date(1972, 3, 8), "F"),
                                                 ("王小明", "child", date(2000, 9, 1), "M")])
    head, spouse, son = (m.person for m in hh.members)
    _declare(db, hh, head.id, "wage", 2000)
    _declare(db, hh, head.id, "transfer", 600)  # a pension of 400 and 200 of support from the children
    _declare(db, hh, spouse.id, "wage", 1000)
    db.flush()
    months = [m.strftime("%Y-%m") for m in MONTHS]
    _feed(db, tmp_path, "tax", {"record_id": [f"t{i}" for i in range(12)], "id_number": [head.id_number] * 12,
                                "name": [head.name] * 12, "month": months, "income_kind": ["wage"] * 12,
                                "amount": ["2600.00"] * 12})
    _feed(db, tmp_path, "social_insurance", {
        "record_id": [f"s{i}" for i in range(12)], "id_number": [head.id_number] * 12, "name": [head.name] * 12,
        "month": months, "item": ["retirement_pension"] * 12, "amount": ["400.00"] * 12})
    _feed(db, tmp_path, "hukou", {"record_id": ["h1"], "id_number": [son.id_number], "name": [son.name],
                                  "hukou_area_code": [VILLAGE_A1], "status": ["moved_out"],
                                  "updated_on": [MOVED_ON.isoformat()]})

    # Declared only, three members (安丘 deducts 200 a month from each employed member's wage, pack 370784):
    # head (2000 − 200) + 600 + spouse (1000 − 200) = 3,200 a month; 3,200 / 3 = 1,066.67.
    assert _per_capita(db, hh, ["declared"]) == pytest.approx(1066.67)

    assert flows.verify_county(db, actor=ACTOR, on=ON) == 24  # 12 wage rows and 12 pension rows of the head
    # The head's wage: the tax figure 2,600 covers the declared 2,000, so it supersedes those 12 facts only.
    # The head's transfers: the pension 400 is less than the declared 600, so the declaration stands.
    # The spouse's declared wage is untouched: nothing of hers is in any feed.
    current = db.execute(select(IncomeFact.person_id, IncomeFact.kind, IncomeFact.source_kind, func.count(),
                                func.sum(IncomeFact.amount))
                         .where(IncomeFact.superseded_by.is_(None))
                         .group_by(IncomeFact.person_id, IncomeFact.kind, IncomeFact.source_kind)).all()
    assert sorted((p, k, s, n, float(a)) for p, k, s, n, a in current) == sorted([
        (head.id, "wage", "feed", 12, 31200.0), (head.id, "transfer", "declared", 12, 7200.0),
        (spouse.id, "wage", "declared", 12, 12000.0)])
    correction = aliased(IncomeFact)
    superseded = db.execute(select(IncomeFact.kind, IncomeFact.source_kind, correction.source_kind, func.count())
                            .join(correction, correction.id == IncomeFact.superseded_by)
                            .group_by(IncomeFact.kind, IncomeFact.source_kind, correction.source_kind)).all()
    assert sorted(tuple(r) for r in superseded) == [("transfer", "feed", "declared", 12),
                                                    ("wage", "declared", "feed", 12)]

    # The son leaves on the date the 户籍 feed gives, through the registry writer, with the feed row as source.
    membership = db.scalars(select(Membership).where(Membership.person_id == son.id)).one()
    assert membership.valid_to == MOVED_ON
    revision = db.scalars(select(Revision).where(Revision.object_type == "membership",
                                                 Revision.object_id == membership.id)).one()
    assert revision.after["reason"] == "迁出（户籍部门数据）" and str(revision.after["source"]).startswith("hukou#")
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "household.member_end")) == 1

    # Verified, two members: head (2600 − 200) + 600 + spouse (1000 − 200) = 3,800 a month; 3,800 / 2 = 1,900.00.
    assert _per_capita(db, hh) == pytest.approx(1900.00)
    # A second run changes nothing: the rows are recorded, the months settled, the son already gone.
    assert flows.verify_county(db, actor=ACTOR, on=ON) == 0
    assert _per_capita(db, hh) == pytest.approx(1900.00)


def test_a_declaration_imported_after_the_feed_is_settled_and_a_reimport_changes_nothing(
        db: Session, tmp_path: Path) -> None:
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, members=[("李秀英", "spouse", date(1972, 3, 8), "F")])
    head = hh.members[0].person
    months = [m.strftime("%Y-%m") for m in MONTHS[-2:]]  # 2026-08 and 2026-09
    _feed(db, tmp_path, "tax", {"record_id": ["t1", "t2"], "id_number": [head.id_number] * 2, "name": [head.name] * 2,
                                "month": months, "income_kind": ["wage"] * 2, "amount": ["2600.00"] * 2})
    _feed(db, tmp_path, "social_insurance", {
        "record_id": ["s1", "s2"], "id_number": [head.id_number] * 2, "name": [head.name] * 2, "month": months,
        "item": ["retirement_pension"] * 2, "amount": ["400.00"] * 2})
    assert flows.verify_county(db, actor=ACTOR, on=ON) == 4  # nothing declared yet: nothing to settle
    rows = [[hh.household_no, head.id_number, kind, month, amount]
            for month in months for kind, amount in (("wage", "2000"), ("transfer", "600"))]
    header = ["household_no", "id_number", "kind", "month", "amount"]
    first = import_facts(db, actor=ACTOR, kind="income", path=_csv(tmp_path / "a.csv", header, rows))
    assert (first.new, first.superseded, first.unchanged) == (4, 0, 0)
    # Wage: the tax figure 2,600 ≥ 2,000 declared supersedes the declaration; transfers: the pension 400 < 600
    # declared, so the declaration supersedes the feed fact. Two months each.
    current = db.execute(select(IncomeFact.kind, IncomeFact.source_kind, func.count())
                         .where(IncomeFact.superseded_by.is_(None))
                         .group_by(IncomeFact.kind, IncomeFact.source_kind)).all()
    assert sorted(tuple(r) for r in current) == [("transfer", "declared", 2), ("wage", "feed", 2)]
    # The same ledger again, rows in another order: nothing new, nothing superseded, 8 facts as before.
    again = import_facts(db, actor=ACTOR, kind="income", path=_csv(tmp_path / "b.csv", header, rows[::-1]))
    assert (again.new, again.superseded, again.unchanged) == (0, 0, 4)
    assert db.scalar(select(func.count()).select_from(IncomeFact)) == 8


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    pl.DataFrame(rows, schema=header, orient="row").write_csv(path)
    return path
