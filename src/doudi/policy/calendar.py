"""Calendar data from the policy pack (`calendar.years`), for years the chinese_calendar library lacks."""

from __future__ import annotations

from datetime import date

from doudi.core.calendar import CalendarData, WorkCalendar
from doudi.policy.params import MissingParameter, load_pack

LATEST = date(9999, 12, 31)


def pack_calendar_data(region: str | None) -> CalendarData:
    """The State Council holiday data kept in the region's pack (national pack when no region is given)."""
    pack = load_pack(region or "000000")
    try:
        years = pack.value("calendar.years", on=LATEST)
    except MissingParameter:
        return CalendarData()
    return CalendarData.from_mapping(years or {})


def calendar_for(region: str | None) -> WorkCalendar:
    """The working-day calendar of a region: library data plus the region's pack calendar data."""
    return WorkCalendar(extra=pack_calendar_data(region))
