"""Dates and times as the office sees them: "today", deadlines and the times shown on pages, exports and file
names are in the installation's time zone (DOUDI_TIMEZONE, default Asia/Shanghai); instants are stored in UTC.

At 00:30 Beijing time it is still the previous day in UTC: a case accepted then is accepted "today" in
Beijing, not yesterday. Nothing outside this module calls `date.today()` or a naive `datetime.now()`
(tests/core/test_clock.py checks the source).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from doudi.config import get_settings

_configured: str | None = None


def configure(timezone: str) -> None:
    """Use `timezone` (an IANA name) from now on; the application calls this with its settings."""
    global _configured
    ZoneInfo(timezone)  # an unknown name fails here, at start-up, not on the first page
    _configured = timezone


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The installation's time zone."""
    if _configured is None:
        return _zone(get_settings().timezone)
    return _zone(_configured)


def now(at: datetime | None = None) -> datetime:
    """The current instant, timezone-aware in UTC (what is stored)."""
    return (at or datetime.now(UTC)).astimezone(UTC)


def local(value: datetime | None = None) -> datetime:
    """An instant (default: now) in the installation's time zone; a naive value is taken as UTC."""
    value = value or datetime.now(UTC)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(zone())


def today(at: datetime | None = None) -> date:
    """Today's date in the installation's time zone (at the instant `at`, default now)."""
    return local(at).date()


def stamp(at: datetime | None = None) -> str:
    """A local timestamp for file names: 20270101-003000."""
    return local(at).strftime("%Y%m%d-%H%M%S")


def shown(value: datetime | None) -> str:
    """An instant as a person reads it: local time to the minute (2027-01-01 00:30)."""
    return "" if value is None else local(value).strftime("%Y-%m-%d %H:%M")


def day_start(day: date) -> datetime:
    """The instant (UTC) a local day begins: a search "from 1 January" starts at 00:00 Beijing time."""
    return datetime.combine(day, time(0), tzinfo=zone()).astimezone(UTC)
