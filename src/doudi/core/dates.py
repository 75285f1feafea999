"""Month arithmetic used across the platform (payment months, review cycles, income windows)."""

from __future__ import annotations

import calendar
from datetime import date


def shift_months(day: date, months: int) -> date:
    """The same day `months` months later (negative: earlier), clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_start(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day` (payments start the month after a decision)."""
    return shift_months(month_start(day), 1)


def whole_months_before(day: date, months: int) -> tuple[date, date]:
    """The `months` whole calendar months before the month of `day`: (first day, last day)."""
    first = month_start(day)
    return shift_months(first, -months), date.fromordinal(first.toordinal() - 1)
