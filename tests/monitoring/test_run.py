"""Comparison runs on the real database (SQLite and PostgreSQL): warnings with provenance, idempotence,
incremental batches, all-or-nothing, dismissal memory, and the ledger's actions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.auth.service import actor_for
from doudi.cases.models import Enrollment
from doudi.core.errors import Conflict, NotFound, ValidationFailed
from doudi.ingest.models import IngestBatch
from doudi.monitoring import referrals, service
from doudi.monitoring.models import MonitorWarning, Referral
from doudi.monitoring.read import new_batches, read_inputs
from doudi.monitoring.run import run
from tests.factories import TOWN_A, TOWN_B, make_user
from tests.monitoring.builders import ON, county, death_feed

SYSTEM = system_actor(name="test")


def warnings(db: Session) -> list[MonitorWarning]:
    """Every warning, by rule then subject."""
    return list(db.scalars(select(MonitorWarning).order_by(MonitorWarning.rule_key, MonitorWarning.subject_key)))


def test_run_raises_death_with_provenance_and_review(db: Session, tmp_path: Path) -> None:
    """A's head died (feed batch, row 1): one red death warning due in 3 working days (2026-11-16 Monday →
    11-19); his 14-year-old daughter is left alone (supporter lost); B's review is overdue. Enrollment amounts
    equal the current assessment, no ages cross, no other feeds: nothing else."""
    c = county(db)
    head = c.a.members[0].person
    batch = death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    result = run(db, actor=SYSTEM, on=ON, area="370784")
    ws = warnings(db)
    assert [(w.rule_key, w.household_id) for w in ws] == [("death", c.a.id), ("review_overdue", c.b.id),
                                                          ("supporter_lost", c.a.id)]
    death = ws[0]
    assert death.level == "red" and death.status == "new" and death.person_id == head.id
    assert death.due_on == date(2026, 11, 19)
    assert death.evidence == [{"batch_id": batch, "row_number": 1, "source": "death"}]
    assert death.area_code == c.a.area_code and "2026-11-10" in death.reason and death.pack_version
    assert result.counts["death"] == {"found": 1, "new": 1, "attached": 0}
    assert result.batches == [batch]


def test_rerun_adds_nothing_and_new_evidence_attaches(db: Session, tmp_path: Path) -> None:
    """Running twice adds nothing; a second feed batch about the same death attaches to the open warning."""
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=SYSTEM, on=ON, area="370784")
    again = run(db, actor=SYSTEM, on=ON, area="370784")
    assert again.new == 0 and again.batches == []
    assert db.scalar(select(func.count()).select_from(MonitorWarning)) == 3
    second = death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")], name="death2.csv")
    third = run(db, actor=SYSTEM, on=date(2026, 11, 17), area="370784")
    assert third.new == 0 and third.counts["death"]["attached"] == 1
    death = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "death"))
    assert death is not None
    db.refresh(death)
    assert [e["batch_id"] for e in death.evidence][-1] == second and len(death.evidence) == 2
    assert death.last_seen_on == date(2026, 11, 17)


def test_rerun_over_the_same_evidence_writes_nothing(db: Session, tmp_path: Path) -> None:
    """The same feed rows compared again (a run handed the same inputs, a day later): the death warning is found
    but gains no evidence, so no warning is written: versions and last_seen_on (2026-11-16) stay, 0 attached."""
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    inputs = read_inputs(db, on=ON, area="370784", batches=new_batches(db, area="370784"))
    run(db, actor=SYSTEM, on=ON, area="370784", inputs=inputs)
    before = {w.id: (w.version, w.last_seen_on, w.evidence) for w in warnings(db)}
    again = run(db, actor=SYSTEM, on=date(2026, 11, 17), area="370784", inputs=inputs)
    assert again.counts["death"] == {"found": 1, "new": 0, "attached": 0} and again.new == 0
    db.expire_all()
    assert {w.id: (w.version, w.last_seen_on, w.evidence) for w in warnings(db)} == before
    assert len(before) == 3 and {v[1] for v in before.values()} == {ON}


def test_one_open_warning_per_rule_and_subject_enforced_by_database(db: Session, tmp_path: Path) -> None:
    """A second open warning with the same open_key is refused by the unique constraint."""
    c = county(db)
    run(db, actor=SYSTEM, on=ON, area="370784")
    w = db.scalar(select(MonitorWarning))
    assert w is not None and w.open_key == f"review_overdue:h{c.b.id}"
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(MonitorWarning(rule_key=w.rule_key, level="yellow", subject_key=w.subject_key, open_key=w.open_key,
                              area_code=w.area_code, first_seen_on=ON, last_seen_on=ON, due_on=ON, version=1))
        db.flush()


def test_crash_mid_run_leaves_nothing(db: Session, tmp_path: Path) -> None:
    """A failure during the rules (here: the progress callback) leaves no run, warning or compared batch."""
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])

    def boom(key: str, done: int, total: int) -> None:
        if done == 5:
            raise RuntimeError("断电")

    with pytest.raises(RuntimeError), db.begin_nested():
        run(db, actor=SYSTEM, on=ON, area="370784", progress=boom)
    assert db.scalar(select(func.count()).select_from(MonitorWarning)) == 0
    assert run(db, actor=SYSTEM, on=ON, area="370784").counts["death"]["new"] == 1


def test_partly_ingested_batch_waits(db: Session, tmp_path: Path) -> None:
    """A batch still loading is not compared (nor marked); once done, the next run compares it."""
    c = county(db)
    head = c.a.members[0].person
    batch_id = death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    batch = db.get(IngestBatch, batch_id)
    assert batch is not None
    batch.status = "running"
    db.flush()
    first = run(db, actor=SYSTEM, on=ON, area="370784")
    assert first.batches == [] and first.counts["death"]["found"] == 0
    batch.status = "done"
    db.flush()
    assert run(db, actor=SYSTEM, on=ON, area="370784").counts["death"]["new"] == 1


def test_dispose_close_and_dismissal_memory(db: Session, tmp_path: Path) -> None:
    """Township B's worker verifies and closes B's overdue-review warning with a reason; a rerun on the same
    evidence does not reopen it; every change is audited; township A cannot see it."""
    c = county(db)
    run(db, actor=SYSTEM, on=ON, area="370784")
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.household_id == c.b.id))
    assert w is not None
    worker = actor_for(make_user(db, "mon_b", ["township_caseworker"], TOWN_B))
    other = actor_for(make_user(db, "mon_a", ["township_caseworker"], TOWN_A))
    with pytest.raises(NotFound):
        service.get_warning(db, actor=other, warning_id=w.id)
    with pytest.raises(ValidationFailed):
        service.close(db, actor=worker, warning_id=w.id, version=w.version, note=" ", today=ON)
    service.verify(db, actor=worker, warning_id=w.id, version=w.version, note="查阅复核记录：已于 11-10 入户复核")
    with pytest.raises(Conflict):
        service.close(db, actor=worker, warning_id=w.id, version=1, note="stale", today=ON)
    service.close(db, actor=worker, warning_id=w.id, version=w.version, note="复核已完成，系统待更新", today=ON)
    assert w.status == "closed" and w.open_key is None and w.disposition == "no_action"
    assert run(db, actor=SYSTEM, on=ON, area="370784").new == 0
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "monitoring_warning",
                                                             AuditEntry.object_id == str(w.id))))
    assert actions == {"monitoring.verify", "monitoring.close"}


def test_suspend_and_refer(db: Session, tmp_path: Path) -> None:
    """Disposing A's death warning by suspension suspends A's enrollment; a disability warning-style referral goes
    to 人社 with a 10-working-day deadline and only that agency's liaison sees and answers it."""
    c = county(db)
    head = c.a.members[0].person
    death_feed(db, tmp_path, [(head.id_number, head.name, "2026-11-10")])
    run(db, actor=SYSTEM, on=ON, area="370784")
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "death"))
    assert w is not None
    worker = actor_for(make_user(db, "mon_a2", ["township_caseworker"], TOWN_A))
    with pytest.raises(ValidationFailed, match="不允许"):
        service.dispose(db, actor=worker, warning_id=w.id, version=w.version, disposition="refer", note="x",
                        today=ON, target_key="unemployment")
    service.dispose(db, actor=worker, warning_id=w.id, version=w.version, disposition="suspend",
                    note="火化记录属实，暂停发放待重新核定", today=ON)
    e = db.scalar(select(Enrollment).where(Enrollment.household_id == c.a.id))
    assert e is not None and e.status == "suspended"
    r = referrals.create(db, actor=worker, warning=w, target_kind="agency", target_key="unemployment",
                         purpose="家庭成员就业帮扶", today=ON)
    assert r.due_on == date(2026, 11, 30)  # 10 working days after Monday 2026-11-16
    liaison = actor_for(make_user(db, "hr_liaison", ["agency_liaison"], "370784", org="unemployment"))
    medical = actor_for(make_user(db, "mi_liaison", ["agency_liaison"], "370784", org="medical"))
    assert [x.id for x in referrals.list_referrals(db, actor=liaison)] == [r.id]
    assert referrals.list_referrals(db, actor=medical) == []
    with pytest.raises(NotFound):
        referrals.get_referral(db, actor=medical, referral_id=r.id)
    referrals.answer(db, actor=liaison, referral_id=r.id, version=r.version, acknowledge_only=False,
                     result="已登记就业援助对象，安排公益性岗位", today=date(2026, 11, 20))
    got = db.get(Referral, r.id)
    assert got is not None and got.status == "answered" and got.acknowledged_on == date(2026, 11, 20)



def test_ingest_triggers_incremental_run(db: Session, tmp_path: Path) -> None:
    """A death feed ingested through the verification flow is compared at once: A's head's death and the
    daughter left alone (supporter lost) are raised; B's overdue review (a registry rule, no feed) waits for the
    daily run; the batch is marked compared, so the daily run adds only B's review."""
    from doudi.verification.flows import ingest_and_link

    c = county(db)
    head = c.a.members[0].person
    path = tmp_path / "death.csv"
    pl.DataFrame({"record_id": ["d-1"], "id_number": [head.id_number], "name": [head.name],
                  "date_of_death": ["2026-11-10"], "record_kind": ["cremation"]}).write_csv(path)
    out, _ = ingest_and_link(db, actor=SYSTEM, source_key="death", path=path, area_code="370784")
    assert [(w.rule_key, w.household_id) for w in warnings(db)] == [("death", c.a.id), ("supporter_lost", c.a.id)]
    daily = run(db, actor=SYSTEM, on=ON, area="370784")
    assert daily.batches == [] and daily.new == 1 and daily.counts["review_overdue"]["new"] == 1
    assert out.batch.id in {e["batch_id"] for w in warnings(db) for e in w.evidence}
