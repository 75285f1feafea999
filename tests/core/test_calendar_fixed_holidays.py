"""Years without the State Council's notice still know the fixed-date statutory holidays (全国年节及纪念日放假办法
第二条): 元旦 1 Jan, 劳动节 1–2 May (from 2025), 国庆 1–3 Oct; lunar holidays and adjusted working days stay
unknown and are warned about."""

from __future__ import annotations

from datetime import date

from doudi.policy.calendar import calendar_for


def test_fixed_holidays_in_a_year_without_data() -> None:
    cal = calendar_for("370784")
    assert cal.source(2027) == "weekends_only"
    assert cal.is_workday(date(2027, 1, 1)) is False  # Friday, 元旦
    assert cal.is_workday(date(2027, 1, 4)) is True  # Monday
    assert cal.is_workday(date(2027, 10, 1)) is False and cal.is_workday(date(2027, 10, 4)) is True
    assert cal.is_workday(date(2028, 5, 1)) is False and cal.is_workday(date(2028, 5, 2)) is False  # Mon, Tue
    assert cal.is_workday(date(2028, 5, 3)) is True
    # 20 working days from Monday 2027-09-20: 21–30 Sep (8 days), 4–8 Oct (5), 11–15 Oct (5), 18–19 Oct (2).
    assert cal.add_workdays(date(2027, 9, 20), 20) == date(2027, 10, 19)
    warning = cal.warning(2027)
    assert warning is not None and "元旦、劳动节、国庆节已按放假处理" in warning and "农历" in warning


def test_years_with_library_data_are_unchanged() -> None:
    cal = calendar_for("370784")
    assert cal.source(2026) == "library" and cal.warning(2026) is None
    assert cal.is_workday(date(2026, 1, 1)) is False and cal.is_workday(date(2026, 1, 5)) is True
