"""Working days (工作日) per the State Council holiday calendar.

Sources, in order: calendar data supplied by the policy pack (for years the library lacks, or to correct it),
then the `chinese_calendar` package, then — for a year nobody knows — weekends only, with a warning that
callers show to users. Nothing here raises for an unknown year.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger("doudi.calendar")


@dataclass(frozen=True)
class CalendarData:
    """Holiday and adjusted-workday dates for whole years (as published by the State Council)."""

    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()  # days off, including weekdays
    workdays: frozenset[date] = frozenset()  # weekend days that are working days (调休上班)
    # Statutory fixed-date holidays ("MM-DD"), by the year they apply from: known for years without data.
    fixed: tuple[tuple[int, frozenset[str]], ...] = ()

    def fixed_for(self, year: int) -> frozenset[str]:
        """The fixed-date holidays in force in `year`."""
        days: frozenset[str] = frozenset()
        for since, values in self.fixed:
            if since <= year:
                days = values
        return days

    @classmethod
    def from_mapping(cls, data: dict[int | str, dict[str, Iterable[date | str]]]) -> CalendarData:
        """Build from {year: {"holidays": [...], "workdays": [...]}} as kept in a policy pack."""
        years: set[int] = set()
        hol: set[date] = set()
        work: set[date] = set()
        for year, spec in data.items():
            years.add(int(year))
            hol.update(_as_date(d) for d in spec.get("holidays", []))
            work.update(_as_date(d) for d in spec.get("workdays", []))
        return cls(frozenset(years), frozenset(hol), frozenset(work))


def _as_date(d: date | str) -> date:
    return d if isinstance(d, date) else date.fromisoformat(str(d))


@lru_cache
def library_years() -> frozenset[int]:
    """Years chinese_calendar has data for."""
    years = set()
    for year in range(2004, 2100):
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            years.add(year)
        except NotImplementedError:
            continue
    return frozenset(years)


@dataclass
class WorkCalendar:
    """Working-day arithmetic over library data plus pack data, degrading to weekends only."""

    extra: CalendarData = field(default_factory=CalendarData)
    warned: set[int] = field(default_factory=set)

    def source(self, year: int) -> str:
        """Where this year's data comes from: 'pack', 'library' or 'weekends_only'."""
        if year in self.extra.years:
            return "pack"
        if year in library_years():
            return "library"
        return "weekends_only"

    def warning(self, year: int) -> str | None:
        """A user-facing warning when a year falls back to weekends and fixed-date holidays only."""
        if self.source(year) == "weekends_only":
            fixed = "元旦、劳动节、国庆节已按放假处理，" if self.extra.fixed_for(year) else ""
            return (f"{year} 年的国务院节假日安排尚未录入：{fixed}春节等农历节日与调休上班日尚不确定，"
                    "期限可能有出入，请在政策包中补充该年日历")
        return None

    def is_workday(self, day: date) -> bool:
        """True when `day` is a working day."""
        src = self.source(day.year)
        if src == "pack":
            if day in self.extra.workdays:
                return True
            return day.weekday() < 5 and day not in self.extra.holidays
        if src == "library":
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self.warned:
            self.warned.add(day.year)
            log.info("no holiday data for %s; counting weekends and fixed-date holidays only", day.year)
        return day.weekday() < 5 and day.strftime("%m-%d") not in self.extra.fixed_for(day.year)

    def add_workdays(self, start: date, n: int) -> date:
        """The date that is `n` working days after `start` (start itself not counted); n=0 returns start."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day, left = start, n
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def warnings_for(self, *days: date) -> list[str]:
        """Warnings for every year from the earliest to the latest given date that has no data."""
        out: list[str] = []
        if not days:
            return out
        for year in range(min(d.year for d in days), max(d.year for d in days) + 1):
            w = self.warning(year)
            if w:
                out.append(w)
        return out
