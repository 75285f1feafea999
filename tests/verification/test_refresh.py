"""The refresh of every open request gives each request what answering it alone gives (one code path, joins over
frames), writes one audit entry with its counts, and adds nothing on a second run — on both backends."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.registry.models import AssetFact, Household, IncomeFact
from doudi.verification import service
from doudi.verification.ingest import ingest_file
from doudi.verification.models import RequestSource, VerificationRequest
from tests.factories import make_areas, make_household

ACTOR = system_actor("370784", name="test")
MONTHS = ["2025-10", "2025-11", "2025-12"]


def _household(db: Session, name: str) -> Household:
    hh = make_household(db, head_name=name, members=[(f"{name}妻", "spouse", date(1972, 3, 4), "F")])
    for m in hh.members:
        service.record_authorisation(db, actor=ACTOR, household_id=hh.id, person_id=m.person_id,
                                     signed_by_name=m.person.name, signed_on=date(2026, 1, 5),
                                     document_ref=f"SQ-{m.person_id}")
    return hh


def _feeds(db: Session, tmp_path: Path, households: list[Household]) -> None:
    """Each head earns 1,500 a month in the tax feed (3 months); each spouse holds 30,000 in the bank feed."""
    tax, bank = [], []
    for i, hh in enumerate(households):
        head, spouse = hh.members[0].person, hh.members[1].person
        tax += [{"record_id": f"t{i}{m}", "id_number": head.id_number, "name": head.name, "birth_date": "",
                 "sex": "", "address": "", "month": m, "income_kind": "wage", "amount": "1500", "payer": "某厂"}
                for m in MONTHS]
        bank.append({"record_id": f"k{i}", "id_number": spouse.id_number, "name": spouse.name, "birth_date": "",
                     "sex": "", "address": "", "institution": "农商银行", "product": "deposit", "balance": "30000",
                     "as_of": "2025-12-31"})
    pl.DataFrame(tax).write_csv(tmp_path / "tax.csv")
    pl.DataFrame(bank).write_csv(tmp_path / "bank.csv")
    ingest_file(db, actor=ACTOR, source_key="tax", path=tmp_path / "tax.csv")
    ingest_file(db, actor=ACTOR, source_key="bank", path=tmp_path / "bank.csv")


def _answers(db: Session, req: VerificationRequest) -> dict[str, Any]:
    """What answering gave a request: status per source, its own status, and its household's feed facts."""
    sources = {r.source_key: (r.status, r.records, r.message) for r in db.scalars(
        select(RequestSource).where(RequestSource.request_id == req.id))}
    income = sorted((f.kind, f.amount, f.period_start, f.period_end, f.source_key) for f in db.scalars(
        select(IncomeFact).where(IncomeFact.household_id == req.household_id, IncomeFact.source_kind == "feed")))
    assets = sorted((f.kind, f.value, f.description) for f in db.scalars(
        select(AssetFact).where(AssetFact.household_id == req.household_id, AssetFact.source_kind == "feed")))
    db.refresh(req)
    return {"sources": sources, "status": req.status, "income": income, "assets": assets}


def test_one_request_alone_and_in_the_refresh_get_the_same_answers(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    alone, batch = _household(db, "王一"), _household(db, "王二")
    _feeds(db, tmp_path, [alone, batch])
    on = date(2026, 1, 9)
    first = service.create_request(db, actor=ACTOR, household_id=alone.id, requested_on=on, start=False)
    second = service.create_request(db, actor=ACTOR, household_id=batch.id, requested_on=on, start=False)

    service.process_request(db, actor=ACTOR, request_id=first.id)  # the single-case path, for one household
    assert service.refresh_open_requests(db, actor=ACTOR) == 2  # both still wait for 11 other sources
    a, b = _answers(db, first), _answers(db, second)
    assert a == b  # same shape of household, same feeds: the same answers whichever path answered them
    # tax: 3 monthly rows of the head; bank: 1 row of the spouse; the 11 other sources have sent no batch.
    assert a["sources"]["tax"] == ("answered", 3, "") and a["sources"]["bank"] == ("answered", 1, "")
    assert a["sources"]["death"] == ("pending", 0, "尚未收到该部门数据") and a["status"] == "open"
    # 3 months × 1,500 as monthly wage facts (period = the month); the deposit of 30,000 as a financial asset,
    # its product named in Chinese (存款).
    assert [(k, float(v)) for k, v, *_ in a["income"]] == [("wage", 1500.0)] * 3
    assert [(k, float(v), d) for k, v, d in a["assets"]] == [("financial", 30000.0, "农商银行 存款")]
    assert a["income"][0][2:4] == (date(2025, 10, 1), date(2025, 10, 31))

    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "verification.refresh")).all()
    assert len(entries) == 1
    counts: Any = entries[0].changes["_"]
    # Run counts: 2 requests × 13 sources = 26 (2 × 2 answered, 2 × 11 pending); household 2's facts are new
    # (3 income + 1 asset), household 1's were added by its own answer before.
    assert (counts["requests"], counts["facts_added"], counts["completed"]) == (2, 4, 0)
    assert counts["sources"] == {"answered": 4, "pending": 22}

    service.refresh_open_requests(db, actor=ACTOR)  # a second run adds nothing
    total = db.scalar(select(func.count()).select_from(IncomeFact).where(IncomeFact.source_kind == "feed"))
    assert total == 6  # 2 heads × 3 months
