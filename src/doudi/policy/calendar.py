"""Calendar data from the policy pack (`calendar.years`), for years the chinese_calendar library lacks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache

from doudi.core.calendar import CalendarData, WorkCalendar
from doudi.policy.params import MissingParameter, Pack, load_pack

LATEST = date(9999, 12, 31)
# The years whose fixed-date holidays are read from the pack; each value holds until the next.
FIXED_SINCE = (2014, 2025)


def pack_calendar_data(region: str | None) -> CalendarData:
    """The State Council holiday data kept in the region's pack (national pack when no region is given)."""
    return _calendar_data(load_pack(region or "000000"))


@lru_cache(maxsize=256)
def _calendar_data(pack: Pack) -> CalendarData:
    # Once per pack version: an edited pack file is a new Pack object (params.load_pack).
    try:
        years = pack.value("calendar.years", on=LATEST)
    except MissingParameter:
        years = {}
    data = CalendarData.from_mapping(years or {})
    fixed: list[tuple[int, frozenset[str]]] = []
    for since in FIXED_SINCE:
        try:
            fixed.append((since, frozenset(pack.value("calendar.fixed_holidays", on=date(since, 12, 31)) or [])))
        except MissingParameter:
            continue
    return replace(data, fixed=tuple(fixed))


def calendar_for(region: str | None) -> WorkCalendar:
    """The working-day calendar of a region: library data plus the region's pack calendar data."""
    return WorkCalendar(extra=pack_calendar_data(region))
