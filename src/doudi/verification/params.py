"""Dated verification parameters (parameters.yaml) and the working-day arithmetic their deadlines need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml


@dataclass(frozen=True)
class Param:
    """One parameter's value on a date, with its unit, legal reference and whether it is provisional."""

    key: str
    value: Any
    unit: str
    ref: str
    provisional: bool
    label: str


@lru_cache
def _table() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        files("doudi.verification").joinpath("parameters.yaml").read_text(encoding="utf-8"))
    return data


def param(key: str, on: date) -> Param:
    """The value of `key` in force on `on` (the latest entry whose `from` is not after it)."""
    spec = _table()[key]
    entries = sorted(spec["values"], key=lambda e: e["from"])
    current = [e for e in entries if e["from"] <= on] or entries[:1]
    return Param(key, current[-1]["value"], spec["unit"], spec["ref"], bool(spec.get("provisional", False)),
                 spec.get("label", key))


def is_workday(day: date) -> tuple[bool, bool]:
    """(is a working day, calendar known) per the State Council holiday calendar; weekends only when unknown."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, days: int) -> tuple[date, str]:
    """The date `days` working days after `start`, and a warning when a year's holiday calendar is missing."""
    current, left, unknown = start, days, set()
    while left > 0:
        current += timedelta(days=1)
        work, known = is_workday(current)
        if not known:
            unknown.add(current.year)
        if work:
            left -= 1
    note = ""
    if unknown:
        years = "、".join(str(y) for y in sorted(unknown))
        note = f"{years} 年节假日安排尚未载入，按周末计算工作日，请核实"
    return current, note
