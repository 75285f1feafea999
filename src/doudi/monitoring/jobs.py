"""The daily monitoring job (`doudi daily`): compare everything as the system, one line of summary."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.monitoring import doubles
from doudi.monitoring.run import run


def daily(session: Session, *, today: date) -> str:
    """Run the comparison for the whole installation; the summary counts new warnings."""
    result = run(session, actor=system_actor(name="daily"), on=today)
    return f"动态监测比对：新增预警 {result.new} 条，比对新批次 {len(result.batches)} 个"

LISTENERS = (doubles.raise_warnings,)  # linkage's double registrations become 重复 warnings (registered on import)
