"""The 重复 route at ingest: a feed row with its own valid ID number, whose name, sex and birth date are a
registry person's holding another valid number, is queued as a possible double registration (never linked
automatically) and announced to listeners; a clerk's rejection holds. Stored linkage models per source.

Numbers (hand-computed in test_linkage_id_evidence.py): A = 370784197005011018 (registered), B =
370784197005011130 (the feed's), both valid, both a man born 1970-05-01.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, system_actor
from doudi.registry.models import Household, Membership, Person
from doudi.verification import flows, queue, resolve
from doudi.verification.linkage import events, store
from doudi.verification.linkage.engine import model_version
from doudi.verification.linkage.events import DoubleRegistration
from doudi.verification.linkage.model import ID_BOTH_VALID
from doudi.verification.models import FeedRecord, LinkReview, ReviewKind
from tests.factories import VILLAGE_A1, make_areas

ACTOR = system_actor("370784", name="test")
A = "370784197005011018"
B = "370784197005011130"


@pytest.fixture
def heard() -> Iterator[list[DoubleRegistration]]:
    """A listener, as the monitoring domain registers one to raise its 重复 warning."""
    got: list[DoubleRegistration] = []

    def listen(session: Session, actor: Actor, found: list[DoubleRegistration]) -> None:
        got.extend(found)

    events.on_double_registration("test", listen)
    yield got
    events._LISTENERS.pop("test", None)


def _register(db: Session) -> Person:
    hh = Household(household_no="H0001", area_code=VILLAGE_A1, address="新安街道东村社区8号", hukou_type="rural",
                   version=1)
    person = Person(id_number=A, name="王建国", sex="M", birth_date=date(1970, 5, 1), version=1)
    db.add_all([hh, person])
    db.flush()
    db.add(Membership(household_id=hh.id, person_id=person.id, relation="head", valid_from=date(2026, 1, 1)))
    db.flush()
    return person


def _feed(path: Path) -> Path:
    row = {"record_id": "", "id_number": "", "name": "", "birth_date": "", "sex": "", "address": "",
           "month": "2025-11", "income_kind": "wage", "amount": "900", "payer": ""}
    pl.DataFrame([
        # 王建国 with another valid number, same sex and birth date, another address: 重复 or a namesake.
        dict(row, record_id="r1", id_number=B, name="王建国", birth_date="1970-05-01", sex="M",
             address="景芝镇南村3号"),
        dict(row, record_id="r2", id_number=A, name="王建国"),  # the registered number: linked at once
    ]).write_csv(path)
    return path


def test_two_valid_numbers_go_to_review_as_double_registration(db: Session, tmp_path: Path,
                                                              heard: list[DoubleRegistration]) -> None:
    make_areas(db)
    person = _register(db)
    # Every row has a valid number (none waits for probabilistic linkage), yet the feed is resolved.
    ingested, out = flows.ingest_and_link(db, actor=ACTOR, source_key="tax", path=_feed(tmp_path / "tax.csv"))
    batch = ingested.batch
    assert ingested.pending_linkage == 0 and out is not None
    assert (out.identities, out.linked_rows, out.double_registrations) == (0, 0, 1)
    item = db.scalars(select(LinkReview)).one()
    assert (item.kind, item.id_kind, item.row_numbers, item.candidate_person_id) == (
        ReviewKind.DOUBLE_REGISTRATION, ID_BOTH_VALID, [1], person.id)
    assert (item.evidence["name"], item.evidence["dob"], item.evidence["sex"]) == (
        "Exact match on name", "Exact match on dob", "Exact match on sex")
    methods = {r.row_number: (r.person_id, r.match_method) for r in db.scalars(select(FeedRecord))}
    assert methods == {1: (None, "review"), 2: (person.id, "id")}  # never linked automatically
    assert [(h.person_id, h.id_given, h.row_numbers) for h in heard] == [(person.id, B, (1,))]

    # The clerk finds two people (namesakes): the rejection holds when the batch is resolved again.
    queue.decide_review(db, actor=ACTOR, review_id=item.id, accept=False, note="同名同生日，不是同一人")
    again = resolve.resolve_batch(db, actor=ACTOR, batch_id=batch.id)
    assert again.double_registrations == 0
    assert len(db.scalars(select(LinkReview)).all()) == 1
    # The decision counts for the source's next training; a rejection is no confirmed pair.
    assert store.decided_since(db, source_key="tax", since=None) == 1
    assert store.confirmed_pairs(db, source_key="tax").height == 0


def test_stored_model_is_reused_until_reviewers_decide(db: Session) -> None:
    version = model_version()
    assert store.current(db, source_key="tax", model_version=version) is None
    first = store.save(db, source_key="tax", model_version=version, settings={"comparisons": []}, records=6000,
                       labels=0)
    second = store.save(db, source_key="tax", model_version=version, settings={"comparisons": []}, records=7000,
                        labels=2)
    assert (first.version, second.version) == (1, 2)
    got = store.current(db, source_key="tax", model_version=version)
    assert got is not None and got.id == second.id
    assert store.current(db, source_key="tax", model_version="another") is None
    assert store.decided_since(db, source_key="tax", since=None) == 0
