"""Working days, hand-checked against the State Council's 2026 schedule (国办发明电〔2025〕号):
中秋 9月25—27日放假; 国庆 10月1—7日放假, 9月20日(周日)、10月10日(周六)上班."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.core.calendar import CalendarData, WorkCalendar


def test_adjusted_days_of_2026() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, adjusted working day
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, adjusted working day
    assert not cal.is_workday(date(2026, 10, 5))  # Monday in the National Day break
    assert not cal.is_workday(date(2026, 9, 25))  # Friday, Mid-Autumn


def test_three_working_days_across_national_day() -> None:
    # Accepted 30 Sep: 1–7 Oct off; 8 Oct (1), 9 Oct (2), 10 Oct Saturday adjusted (3).
    assert WorkCalendar().add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_twenty_working_days_from_21_september() -> None:
    # 22,23,24 Sep (3); 25–27 off; 28,29,30 (6); 1–7 Oct off; 8,9,10 (9); 12–16 (14); 19–23 (19); 26 Oct (20).
    assert WorkCalendar().add_workdays(date(2026, 9, 21), 20) == date(2026, 10, 26)


def test_unknown_year_falls_back_to_weekends_with_a_warning() -> None:
    cal = WorkCalendar()
    # 31 Dec 2026 (1, library); 1 Jan 2027 is a Friday and, with no 2027 data, counts (2); 4 Jan Monday (3).
    result = cal.add_workdays(date(2026, 12, 30), 3)
    assert result == date(2027, 1, 4)
    warnings = cal.warnings_for(date(2026, 12, 30), result)
    assert len(warnings) == 1 and "2027" in warnings[0]
    assert cal.source(2040) == "weekends_only" and cal.is_workday(date(2040, 1, 2))  # never raises


def test_pack_data_fills_a_missing_year() -> None:
    extra = CalendarData.from_mapping({2027: {"holidays": ["2027-01-01"], "workdays": []}})
    cal = WorkCalendar(extra=extra)
    # 31 Dec (1); 1 Jan holiday; 2–3 weekend; 4 Jan (2); 5 Jan (3).
    assert cal.add_workdays(date(2026, 12, 30), 3) == date(2027, 1, 5)
    assert cal.warnings_for(date(2026, 12, 30), date(2027, 1, 5)) == []


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)), st.integers(0, 60))
def test_add_workdays_lands_on_a_workday_and_counts_back(start: date, n: int) -> None:
    cal = WorkCalendar()
    end = cal.add_workdays(start, n)
    assert cal.workdays_between(start, end) == n
    if n:
        assert cal.is_workday(end)
        assert end > start
        assert cal.workdays_between(start, end - timedelta(days=1)) == n - 1


def test_cli_contract() -> None:
    env = {**os.environ}
    run = [sys.executable, "-m", "doudi", "calendar"]
    out = subprocess.run([*run, "add-workdays", "2026-09-30", "3"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "2026-10-10"
    out = subprocess.run([*run, "is-workday", "2026-10-10"], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "true"
    out = subprocess.run([*run, "is-workday", "2026-10-01"], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "false"
    out = subprocess.run([*run, "add-workdays", "2026-12-30", "3"], capture_output=True, text=True, env=env)
    # 31 Dec (Thu), then 1 Jan 2027 is 元旦 (a fixed-date holiday even without the year's notice), 4 and 5 Jan.
    assert out.stdout.strip() == "2027-01-05" and "2027" in out.stderr  # visible warning
    bad = subprocess.run([*run, "add-workdays", "2026-9-30", "x"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2
