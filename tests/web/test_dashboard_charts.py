"""Workbench charts (issue 15 item 5): caseload by step and program, the overdue trend and enrollments by township
and month, each with its numbers as a table; scoped to the user's area. Expected figures worked out by hand."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from doudi.cases.models import Enrollment
from doudi.cases.procedure import STEP_LABELS
from doudi.core.ids import build_id_number
from doudi.web.charts import dashboard_charts
from tests.cases.world import TAISHAN_VILLAGE, apply, make_world, member
from tests.factories import VILLAGE_A1, make_household

TODAY = date(2026, 10, 12)


def _id(seq: int, area: str = "370784") -> str:
    return build_id_number(area, date(1970, 1, 1) + timedelta(days=seq), seq % 1000 * 2, "M")


def test_charts_by_hand(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 9, 29), members=[member("图表", _id(201), "head", "100")])
    other = apply(db, staff.js_worker, area=TAISHAN_VILLAGE, on=date(2026, 9, 29),
                  members=[member("外县", _id(202, "440781"), "head", "100")])
    hh = make_household(db, VILLAGE_A1, head_name="在保")
    db.add(Enrollment(household_id=hh.id, area_code=VILLAGE_A1, program="dibao", status="terminated",
                      monthly_amount=Decimal("300.50"), start_month=date(2026, 8, 1), end_month=date(2026, 10, 1),
                      version=1))
    db.flush()
    charts = {c.key: c for c in dashboard_charts(db, actor=staff.worker, today=TODAY)}

    # One active step in 新安 (the investigation, due 9 Oct); Taishan's case is outside the worker's area.
    active = next(s for s in case.steps if s.status == "active")
    assert active.due_on == date(2026, 10, 9) and other.area_code.startswith("440781")
    caseload = charts["caseload"]
    assert [r[0] for r in caseload.rows] == [STEP_LABELS[active.key]]
    assert sum(int(str(v)) for v in caseload.rows[0][1:]) == 1

    # Overdue on a day when due before it and not done: 10, 11 and 12 Oct; 30 days shown, 12 Oct last.
    trend = charts["overdue"]
    assert len(trend.rows) == 30 and trend.rows[-1] == ["2026-10-12", 1]
    assert [r[0] for r in trend.rows if r[1]] == ["2026-10-10", "2026-10-11", "2026-10-12"]

    # Paid August and September (end_month is the first month no longer paid), six months from May to October.
    enrol = charts["enrollments"]
    assert [(r[1], r[2], r[3]) for r in enrol.rows if r[2]] == [("2026-08", 1, "300.50"), ("2026-09", 1, "300.50")]
    assert {r[1] for r in enrol.rows} == {"2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"}
    assert enrol.rows[0][0] == "新安街道"  # the township's name (make_areas), not its code


def test_home_page_carries_the_charts(db: Session, client) -> None:  # type: ignore[no-untyped-def]
    from tests.auth.test_web_security import _login

    staff = make_world(db)
    apply(db, staff.worker, on=date(2026, 9, 29), members=[member("页面", _id(203), "head", "100")])
    db.commit()
    _login(client, "worker1")
    html = client.get("/").text
    assert 'id="chart-caseload"' in html and 'id="chart-overdue"' in html
    assert re.search(r"data-echarts='\{.*\"series\"", html)
