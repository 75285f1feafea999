"""`doudi feeds relink`: feed rows of persons registered after the feed arrived get linked, once, audited."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.core.ids import build_id_number
from doudi.db.engine import make_engine, sessionmaker_for
from doudi.registry.models import Household, Membership, Person
from doudi.verification import queue, resolve
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord, LinkReview
from doudi.verification.relink import relink
from tests.conftest import Database
from tests.factories import VILLAGE_A1, VILLAGE_B1, make_areas, make_household

ACTOR = system_actor("370784", name="test")
LATE_ID = build_id_number("370784", date(1980, 3, 4), 777, "M")  # 李明: registered only after the feed


def _register(db: Session, name: str, id_number: str, birth: date, sex: str, area: str = VILLAGE_A1) -> Person:
    """A one-person household added to the registry."""
    hh = Household(household_no=f"L{id_number[-8:]}", area_code=area, address="新安街道东村社区8号", hukou_type="rural",
                   version=1)
    person = Person(id_number=id_number, name=name, sex=sex, birth_date=birth, version=1)
    db.add_all([hh, person])
    db.flush()
    db.add(Membership(household_id=hh.id, person_id=person.id, relation="head", valid_from=date(2026, 1, 1)))
    db.flush()
    return person


def _feed(path: Path, head: Person) -> Path:
    row = {"record_id": "", "id_number": "", "name": "", "birth_date": "", "sex": "", "address": "",
           "month": "2025-11", "income_kind": "wage", "amount": "900", "payer": ""}
    rows = [
        dict(row, record_id=f"r{m}", id_number=LATE_ID, name="李明", month=f"2025-0{m}") for m in (1, 2, 3)
    ] + [
        # No ID: 赵丽, registered later with the same name, birth date, sex and address.
        dict(row, record_id="r4", name="赵丽", birth_date="1985-06-07", sex="F", address="新安街道东村社区8号"),
        dict(row, record_id="r5", id_number=head.id_number, name=head.name),  # registered before: linked at once
        # No ID, a one-character name typo, a birth date one digit off and another village: a review case.
        dict(row, record_id="r6", name="张建化", birth_date="1970-05-09", sex="M", address="景芝镇南村"),
    ]
    pl.DataFrame(rows).write_csv(path)
    return path


def _state(db: Session, batch_id: int) -> dict[int, tuple[int | None, str]]:
    return {r.row_number: (r.person_id, r.match_method)
            for r in db.scalars(select(FeedRecord).where(FeedRecord.batch_id == batch_id))}


def test_relink_links_later_registrations_once(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    hh = make_household(db, area=VILLAGE_B1, head_name="张建华")  # born 1970-05-01, see factories
    head = hh.members[0].person
    batch = ingest_file(db, actor=ACTOR, source_key="tax", path=_feed(tmp_path / "tax.csv", head)).batch
    resolve.resolve_batch(db, actor=ACTOR, batch_id=batch.id)  # what `feeds ingest` does after loading
    review = db.scalars(select(LinkReview)).one()  # row 6 → 张建华, uncertain
    assert review.row_numbers == [6] and review.candidate_person_id == head.id
    queue.decide_review(db, actor=ACTOR, review_id=review.id, accept=False, note="不是同一人")
    before = _state(db, batch.id)
    assert before == {1: (None, "none"), 2: (None, "none"), 3: (None, "none"), 4: (None, "none"),
                      5: (head.id, "id"), 6: (None, "none")}

    li = _register(db, "李明", LATE_ID, date(1980, 3, 4), "M")
    zhao = _register(db, "赵丽", build_id_number("370784", date(1985, 6, 7), 778, "F"), date(1985, 6, 7), "F")
    out = relink(db, actor=ACTOR, source_key="tax")
    assert (out.batches, out.id_rows, out.probabilistic_rows, out.review_identities) == (1, 3, 1, 0)
    after = _state(db, batch.id)
    assert [after[n] for n in (1, 2, 3)] == [(li.id, "id")] * 3
    assert after[4] == (zhao.id, "probabilistic")
    assert after[5] == (head.id, "id") and after[6] == (None, "none")  # the clerk's rejection stands
    assert db.scalar(select(func.count()).select_from(LinkReview)) == 1  # not put to the clerk again
    audits = db.scalars(select(AuditEntry).where(AuditEntry.action == "feed.relink")).all()
    assert len(audits) == 1 and audits[0].object_id == str(batch.id)

    again = relink(db, actor=ACTOR)  # idempotent: nothing left to link
    assert (again.id_rows, again.probabilistic_rows, again.review_identities) == (0, 0, 0)
    assert _state(db, batch.id) == after
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "feed.relink")) == 1


def test_relink_command(fresh_database: Database, tmp_path: Path) -> None:
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var"),
           "DOUDI_SECRET_KEY": "test"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "doudi", "feeds", *args], capture_output=True, text=True,
                              env=env, timeout=300)

    factory = sessionmaker_for(make_engine(fresh_database.url))
    with factory() as s:
        make_areas(s)
        head = make_household(s).members[0].person
        s.commit()
    assert cli("ingest", str(_feed(tmp_path / "tax.csv", head)), "--source", "tax").returncode == 0
    with factory() as s:
        li = _register(s, "李明", LATE_ID, date(1980, 3, 4), "M")
        s.commit()
    first = cli("relink", "--source", "tax", "--no-probabilistic")
    assert first.returncode == 0, first.stderr
    assert "按身份证号新关联 3 行" in first.stderr
    with factory() as s:
        linked = s.scalars(select(FeedRecord.row_number).where(FeedRecord.person_id == li.id)).all()
        assert sorted(linked) == [1, 2, 3]
    second = cli("relink")
    assert second.returncode == 0 and "按身份证号新关联 0 行" in second.stderr
    assert cli("relink", "--source", "nope").returncode != 0  # an unknown source is an error
