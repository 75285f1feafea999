"""Deadlines across the 2026 National Day holiday and into 2027, and the inbox's ordering, flags and escalation."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy.orm import Session

from doudi.cases import inbox, steps
from doudi.core import clock
from doudi.core.ids import build_id_number
from tests.cases.world import TAISHAN_VILLAGE, apply, make_world, member


def _found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text` (the test fails when it is missing)."""
    m = re.search(pattern, text)
    assert m is not None, pattern
    return str(m.group(1))


def _id(seq: int, area: str = "370784") -> str:
    return build_id_number(area, date(1975, 6, 1), seq, "M")


def test_deadlines_across_national_day_2026(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 9, 29), members=[member("国庆", _id(101), "head", "100")])
    # Investigation within 3 working days: 30 Sep (1); 1–7 Oct off; 8 Oct (2); 9 Oct (3).
    assert case.steps[1].due_on == date(2026, 10, 9)
    # Delegated 20 working days: 30 Sep, 8, 9, 10 (Saturday, adjusted) = 4; 12–16 = 9; 19–23 = 14;
    # 26–30 = 19; Monday 2 Nov = 20.
    assert case.due_on == date(2026, 11, 2)


def test_deadline_into_2027_falls_back_to_weekends_with_a_warning(db: Session, client) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    case = apply(db, staff.js_worker, area=TAISHAN_VILLAGE, on=date(2026, 12, 15),
                 members=[member("跨年", _id(102, "440781"), "head", "100")])
    # 江门 has not delegated: 30 working days. 16–18 Dec (3); 21–25 (8); 28–31 (12); 2027 has no holiday notice,
    # but 1 Jan (Friday) is 元旦, a fixed-date holiday, so it does not count; 4–8 Jan (17); 11–15 (22);
    # 18–22 (27); 25, 26, 27 Jan (30).
    assert case.due_on == date(2027, 1, 27)
    db.commit()

    page = client.get("/login")
    token = _found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": "js_worker", "password": "Passw0rd!23", "csrf_token": token})
    html = client.get(f"/cases/{case.id}").text
    assert "2027 年的国务院节假日安排尚未录入" in html  # the warning is visible on the case page


def test_inbox_orders_by_due_date_flags_and_escalates(db: Session) -> None:
    staff = make_world(db)
    today = clock.today()
    old = apply(db, staff.worker, on=today - timedelta(days=20), members=[member("超期", _id(103), "head", "100")])
    fresh = apply(db, staff.worker, on=today, members=[member("新案", _id(104), "head", "100")])
    rows, total, counts = inbox.inbox(db, actor=staff.worker, today=today)
    by_case = {r.case_id: r for r in rows}
    assert rows[0].case_id == old.id  # most urgent first
    assert by_case[old.id].state == "overdue" and by_case[old.id].step == "investigation_start"
    # Accepted today: due in 3 working days, beyond the 2-working-day "near" mark, whatever today is.
    assert by_case[fresh.id].state == "ok"
    assert counts == {"overdue": 1, "near": 0, "all": 2} and total == 2
    # worker1's supervisor (county1) sees the overdue step, marked as escalated; the fresh one is not his work.
    sup_rows, _, _ = inbox.inbox(db, actor=staff.county, today=today)
    sup = {r.case_id: r for r in sup_rows}
    assert old.id in sup and sup[old.id].escalated
    assert fresh.id not in sup
    # An approver has nothing to do until a case reaches confirmation.
    rows, total, _ = inbox.inbox(db, actor=staff.approver, today=today)
    assert total == 0
    for key, actor, data in [("investigation_start", staff.worker, {}),
                             ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "x"}),
                             ("verification", staff.verifier, {"conclusion": "consistent"}),
                             ("first_review", staff.worker, {"opinions": {"dibao": {"decision": "approve",
                                                                                    "monthly_amount": "437"}}})]:
        steps.act(db, actor=actor, case_id=fresh.id, step_key=key, action="complete", data=cast(dict[str, Any], data),
                  version=fresh.version, today=today)
    rows, total, _ = inbox.inbox(db, actor=staff.approver, today=today)
    assert [(r.case_id, r.step) for r in rows] == [(fresh.id, "confirmation")]
