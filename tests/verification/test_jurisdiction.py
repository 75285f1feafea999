"""Feed batches belong to an area and link only to people registered there (issue 14 item 1, issue 15 item 2):
a liaison of 蓬江区 (440703) cannot attach income to a person of 安丘 (370784), learns nothing from the match
counts, and creating a household with another county's ID does not say that the ID is registered."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth import service as auth
from doudi.auth.permissions import system_actor
from doudi.core.errors import PermissionDenied, ValidationFailed
from doudi.db.engine import make_engine, sessionmaker_for
from doudi.ingest.models import IngestBatch
from doudi.registry import writes
from doudi.registry.models import Household, Membership
from doudi.registry.schemas import HouseholdCreate
from doudi.verification import facts, queue, service
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord
from tests.conftest import Database
from tests.factories import PASSWORD, VILLAGE_A1, make_areas, make_household, make_user

ANQIU = system_actor("370784", name="test")
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


def _tax(head, amount: str = "740.67") -> bytes:  # type: ignore[no-untyped-def]
    rows = [{"record_id": f"t{m}", "id_number": head.id_number, "name": head.name, "birth_date": "", "sex": "",
             "address": "", "month": m, "income_kind": "wage", "amount": amount, "payer": "某厂"} for m in MONTHS]
    # and one row without an ID, with the person's name and birth date: a candidate for probabilistic linkage
    rows.append(dict(rows[0], record_id="t0", id_number="", birth_date=head.birth_date.isoformat(), sex="M",
                     month="2024-12"))
    buf = io.BytesIO()
    pl.DataFrame(rows).write_csv(buf)
    return buf.getvalue()


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _upload(client, username: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/verification/batches", headers=_token(client, username), data={"source_key": "tax"},
                       files={"file": ("tax.csv", data, "text/csv")})


def test_a_feed_from_another_county_links_to_nobody_here(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, head_name="安丘人")
    head = hh.members[0].person
    make_user(db, "jm_liaison", ["agency_liaison"], "440703")
    make_user(db, "aq_liaison", ["agency_liaison"], "370784")
    db.commit()
    data = _tax(head)

    foreign = _upload(client, "jm_liaison", data)
    assert foreign.status_code == 201, foreign.text
    body = foreign.json()
    # 12 rows with the ID and 1 without: none is linked, and the counts say nothing about 安丘's registry
    assert (body["area_code"], body["national"], body["match_counts"]) == ("440703", False, {"none": 13})
    assert db.scalar(select(func.count()).select_from(FeedRecord).where(
        FeedRecord.batch_id == body["id"], FeedRecord.person_id.is_not(None))) == 0

    for p in (head,):
        service.record_authorisation(db, actor=ANQIU, household_id=hh.id, person_id=p.id, signed_by_name=p.name,
                                     signed_on=date(2026, 1, 5), document_ref="SQ-1")
    req = service.create_request(db, actor=ANQIU, household_id=hh.id, requested_on=date(2026, 1, 9))
    _, tracks = service.tracking(db, actor=ANQIU, request_id=req.id)
    # verified income stays 0 (not 740.67), and 安丘 has not received a tax feed of its own yet
    assert {t.source_key: (t.status, t.records) for t in tracks}["tax"] == ("pending", 0)
    db.commit()

    # The same file from 安丘's own liaison is a batch of 安丘 and links by ID (the same file may come once per area).
    own = _upload(client, "aq_liaison", data).json()
    assert own["area_code"] == "370784" and own["id"] != body["id"] and own["match_counts"]["id"] == 12
    db.expire_all()
    linked = facts.load_records(db, person_ids=[head.id])
    assert set(linked["batch_id"].to_list()) == {own["id"]}


def test_an_earlier_cross_county_link_is_kept_out_of_reports(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    head = make_household(db, VILLAGE_A1).members[0].person
    path = tmp_path / "tax.csv"
    path.write_bytes(_tax(head))
    batch = ingest_file(db, actor=system_actor("440703", name="jm"), source_key="tax", path=path).batch
    # what an earlier version did: link the foreign batch's rows by ID across the county line
    db.execute(FeedRecord.__table__.update().where(FeedRecord.batch_id == batch.id,  # type: ignore[attr-defined]
                                                   FeedRecord.id_number == head.id_number)
               .values(person_id=head.id, match_method="id"))
    assert facts.load_records(db, person_ids=[head.id]).height == 0


def test_national_feeds_are_declared_by_the_system_administrator(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    head = make_household(db, VILLAGE_A1).members[0].person
    path = tmp_path / "tax.csv"
    path.write_bytes(_tax(head))
    admin = auth.actor_for(make_user(db, "county_admin", ["admin", "agency_liaison"], "370784"))
    with pytest.raises(PermissionDenied):
        ingest_file(db, actor=admin, source_key="tax", path=path, national=True)
    with pytest.raises(ValidationFailed, match="--area"):  # the command line's placeholder area is no jurisdiction
        ingest_file(db, actor=system_actor(name="cli"), source_key="tax", path=path)
    batch = ingest_file(db, actor=system_actor(name="cli"), source_key="tax", path=path, national=True).batch
    assert batch.national and queue.match_counts(db, actor=system_actor(), batch=batch)["id"] == 12
    county = auth.actor_for(make_user(db, "county_verifier", ["verification_officer"], "370784"))
    assert queue.match_counts(db, actor=county, batch=batch) == {}
    assert "matched_by_id" not in queue.batch_details(county, batch)


def test_the_command_defaults_to_the_only_county_and_otherwise_asks(fresh_database: Database,
                                                                   tmp_path: Path) -> None:
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var"),
           "DOUDI_SECRET_KEY": "test"}
    factory = sessionmaker_for(make_engine(fresh_database.url))
    with factory() as s:
        make_areas(s)
        head = make_household(s).members[0].person
        s.commit()
    path = tmp_path / "tax.csv"
    path.write_bytes(_tax(head))

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "doudi", "feeds", "ingest", str(path), "--source", "tax",
                               "--no-link", *args], capture_output=True, text=True, env=env, timeout=300)

    first = ingest()
    assert first.returncode == 0, first.stderr
    with factory() as s:
        assert s.scalars(select(IngestBatch.area_code).where(IngestBatch.kind == "feed")).all() == ["370784"]
        s.add(Household(household_no="JM0001", area_code="440703", hukou_type="urban", version=1))
        s.commit()
    second = ingest()
    assert second.returncode == 2 and "--area" in second.stderr and "Traceback" not in second.stderr
    assert ingest("--area", "440703").returncode == 0
    with factory() as s:
        assert sorted(str(a) for a in s.scalars(select(IngestBatch.area_code).where(IngestBatch.kind == "feed"))) == \
            ["370784", "440703"]


def test_registering_another_countys_person_reveals_nothing(db: Session) -> None:
    make_areas(db)
    anqiu_hh = make_household(db, VILLAGE_A1, head_name="安丘人")
    person = anqiu_hh.members[0].person
    jm = auth.actor_for(make_user(db, "jm_worker", ["township_caseworker"], "440703"))
    from doudi.areas.service import AreaRow, upsert_areas

    upsert_areas(db, rows=[AreaRow("440703001", "环市街道", True, "synthetic")])
    data = HouseholdCreate.model_validate({"area_code": "440703001", "hukou_type": "urban", "address": "江门",
                                           "members": [{"name": "安丘人", "id_number": person.id_number,
                                                        "relation": "head"}]})
    hh = writes.create_household(db, actor=jm, data=data)  # accepted like any new person: no oracle
    assert hh.area_code == "440703001"
    # 安丘's record is untouched, and 安丘 (not the other county) is told to reconcile the two registrations.
    current = db.scalars(select(Membership.household_id).where(Membership.person_id == person.id,
                                                               Membership.valid_to.is_(None))).all()
    assert sorted(current) == sorted([anqiu_hh.id, hh.id])
    flag = db.scalars(select(AuditEntry).where(AuditEntry.action == "registry.cross_area_member")).one()
    assert (flag.area_code, flag.object_id) == (VILLAGE_A1, str(person.id))
    # Inside one's own area the clear message stays.
    aq = auth.actor_for(make_user(db, "aq_worker", ["township_caseworker"], "370784001"))
    again = data.model_copy(update={"area_code": "370784001001"})
    with pytest.raises(ValidationFailed, match="另一户的成员"):
        writes.create_household(db, actor=aq, data=again)
