"""A possible double registration found by linkage at ingest raises one 重复 warning on the registry person,
with the feed row as evidence; ingesting the same row again attaches nothing new (one open warning)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.monitoring import service as monitoring  # registers the listener
from doudi.monitoring.models import MonitorWarning, WarningStatus
from doudi.verification import flows
from tests.factories import make_areas
from tests.verification.test_double_registration import ACTOR, _feed, _register


def test_double_registration_raises_one_duplicate_warning(db: Session, tmp_path: Path) -> None:
    assert monitoring.LISTENERS  # the listener is registered by importing the monitoring service
    make_areas(db)
    person = _register(db)
    flows.ingest_and_link(db, actor=ACTOR, source_key="tax", path=_feed(tmp_path / "tax.csv"))
    warnings = db.scalars(select(MonitorWarning).where(MonitorWarning.rule_key == "duplicate")).all()
    assert [(w.person_id, w.subject_key, w.status) for w in warnings] == [
        (person.id, f"p{person.id}", WarningStatus.NEW)]
    assert "疑似重复登记" in warnings[0].reason
    assert [e["row_number"] for e in warnings[0].evidence] == [1]  # the feed row with the other valid number
