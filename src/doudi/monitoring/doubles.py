"""Possible double registrations found by linkage become 重复 warnings in the ledger (the review queue still
decides whether the two numbers are one person)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.monitoring.models import MonitorRun
from doudi.monitoring.rules.base import HIT_SCHEMA
from doudi.monitoring.run import group_hits, rule_specs, write_grouped
from doudi.policy.params import load_pack
from doudi.verification.linkage import events

RULE = "duplicate"


def hits_for(found: list[events.DoubleRegistration]) -> pl.DataFrame:
    """One 重复 hit per registry person and feed row (pure: the announcement in, hits out)."""
    rows = [{"rule_key": RULE, "subject_key": f"p{d.person_id}", "person_id": d.person_id, "household_id": None,
             "id_number": None, "name": d.name, "area_code": d.area_code, "batch_id": d.batch_id,
             "row_number": r, "source_key": d.source_key,
             "reason": f"{d.name} 在{d.source_key}数据中以另一个有效身份证号出现（同名、同性别、同出生日期），"
                       "疑似重复登记，需核实是否为同一人",
             "detail": f"double_registration_review={d.review_id}"}
            for d in found for r in d.row_numbers]
    return pl.DataFrame(rows, schema={"rule_key": pl.String(), "subject_key": pl.String(), **HIT_SCHEMA})


def raise_warnings(session: Session, actor: Actor, found: list[events.DoubleRegistration]) -> None:
    """Write the hits to the ledger as a small run of the 重复 rule in the linking transaction (audited)."""
    if not found:
        return
    on = clock.today()
    specs = {k: s for k, s in rule_specs("", on).items() if k == RULE}
    if not specs:
        return
    grouped = group_hits(hits_for(found), fingerprint=False)
    version = load_pack("000000").version
    run_row = MonitorRun(run_on=on, area_code="", pack_version=version, actor=actor.username)
    session.add(run_row)
    session.flush()
    counts = {RULE: {"found": 0, "new": 0, "attached": 0}}
    write_grouped(session, grouped, specs, version, run_row.id, on, "", counts)
    run_row.batches = sorted({d.batch_id for d in found})
    run_row.counts = dict(counts)
    run_row.finished_at = datetime.now(UTC)
    audit.record(session, actor=actor, action="monitoring.run", object_type="monitoring_run", object_id=run_row.id,
                 extra={"on": on.isoformat(), "double_registrations": [d.review_id for d in found],
                        "new": counts[RULE]["new"]})


events.on_double_registration("monitoring", raise_warnings)
