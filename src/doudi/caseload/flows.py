"""Coordination of the migrated caseload's check (存量对象核查) with the monitoring domain: the findings of the
check are the county's review list, and the same re-assessment enters the warning ledger through the regular
comparison run, whose 持续监测 rule (`assessment_change`) raises a warning for every recipient household whose
program or amount the engine no longer confirms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.caseload.check import check_migrated
from doudi.monitoring import run as monitoring

LEDGER_RULE = "assessment_change"  # 持续监测：最新测算与在保待遇不一致


@dataclass(frozen=True)
class CheckOutcome:
    """The check's findings and what the monitoring run wrote to the ledger (None: not asked to)."""

    findings: pl.DataFrame
    ledger: monitoring.RunResult | None

    @property
    def warnings_new(self) -> int:
        """Warnings of the 持续监测 rule the run raised (the check's findings as the ledger holds them)."""
        if self.ledger is None:
            return 0
        return self.ledger.counts.get(LEDGER_RULE, {}).get("new", 0)


def check_caseload(session: Session, *, actor: Actor, on: date, ledger: bool = True) -> CheckOutcome:
    """Re-assess every migrated recipient in the actor's area on `on` (the review list), and, with `ledger`,
    run the monitoring comparison so that the differences enter the warning ledger with deadlines and owners.
    Runs in the caller's transaction (the caller commits)."""
    findings = check_migrated(session, actor=actor, on=on)
    result = monitoring.run(session, actor=actor, on=on) if ledger else None
    outcome = CheckOutcome(findings, result)
    audit.record(session, actor=actor, action="caseload.check", object_type="caseload", object_id=on.isoformat(),
                 extra={"findings": findings.height, "monitoring_run": result.run_id if result else None,
                        "warnings_new": outcome.warnings_new})
    return outcome
