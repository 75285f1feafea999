"""DOUDI_TIMEZONE (issue 15 item 7): "today", deadlines, times shown, the audit search and backup file names use
the installation's time zone, not UTC; checked at 00:30 Beijing time, when UTC is still on the day before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from doudi.cases import applications
from doudi.cases.schemas import ApplicationCreate
from doudi.core import clock
from doudi.core.ids import build_id_number
from tests.cases.world import make_world, member
from tests.factories import VILLAGE_A1

# 2027-01-01 00:30 in Beijing (UTC+8) is 2026-12-31 16:30 in UTC.
HALF_PAST_MIDNIGHT = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src" / "doudi"


@pytest.fixture
def zone() -> Iterator[None]:
    """Restore the process's time zone after a test that sets its own."""
    before = clock._configured
    yield
    clock._configured = before


def test_half_past_midnight_in_beijing_is_the_next_day(zone: None) -> None:
    clock.configure("Asia/Shanghai")
    assert clock.today(HALF_PAST_MIDNIGHT) == date(2027, 1, 1)  # UTC says 2026-12-31
    assert clock.stamp(HALF_PAST_MIDNIGHT) == "20270101-003000"  # backup file names
    assert clock.shown(HALF_PAST_MIDNIGHT) == "2027-01-01 00:30"  # pages, the 核对报告 feedback times
    # An audit search "from 2027-01-01" starts at 00:00 Beijing time = 2026-12-31 16:00 UTC.
    assert clock.day_start(date(2027, 1, 1)) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    # A naive value (SQLite hands them back) is UTC.
    assert clock.shown(datetime(2026, 12, 31, 16, 30)) == "2027-01-01 00:30"
    clock.configure("UTC")
    assert clock.today(HALF_PAST_MIDNIGHT) == date(2026, 12, 31)


def test_an_unknown_zone_fails_at_start(zone: None) -> None:
    with pytest.raises(Exception, match="Mars"):
        clock.configure("Mars/Olympus")


def test_nothing_else_asks_the_machine_for_today() -> None:
    # Every "today" and every shown time goes through core/clock; the machine's own zone is never asked.
    # Tests and benches too: a test dated by the machine's UTC day fails after 16:00 UTC against the county's day.
    offenders = []
    root = SRC.parents[1]
    for path in [*SRC.rglob("*.py"), *(root / "tests").rglob("*.py"), *(root / "bench").rglob("*.py")]:
        if path.name in ("clock.py", "test_clock.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bdate\.today\(\)|datetime\.now\(\)|datetime\.today\(\)|utcnow\(", text):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_a_case_accepted_today_carries_the_local_date(db: Session, zone: None) -> None:
    # Pick the zone whose date differs from UTC's right now: UTC+14 is a day ahead from 10:00 UTC on, UTC-12 a
    # day behind before 12:00 UTC, so one of the two always differs, and the case must carry that zone's date.
    now = datetime.now(UTC)
    name, shift = ("Etc/GMT-14", 1) if now.hour >= 10 else ("Etc/GMT+12", -1)
    clock.configure(name)
    local = clock.today()
    assert (local - now.date()).days == shift
    staff = make_world(db)
    n = build_id_number("370784", date(1960, 3, 1), 901, "M")
    data = ApplicationCreate.model_validate({
        "area_code": VILLAGE_A1, "hukou_type": "rural", "members": [member("时区甲", n, "head")],
        "applicant_name": "时区甲", "applicant_id_number": n})
    submitted = applications.submit(db, actor=staff.worker, data=data)
    case = applications.accept(db, actor=staff.worker, case_id=submitted.id)  # no date given: "today"
    assert case.accepted_on == local
    assert case.case_no.startswith(f"SQ{local:%Y%m%d}")  # the case number is dated by the local day too
