"""The inbox's counts and each filter's total come from one counting pass: they must match the lines listed."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.cases import inbox
from doudi.core.ids import build_id_number
from tests.cases.world import apply, make_world, member


def _id(seq: int) -> str:
    return build_id_number("370784", date(1971, 3, 1), seq, "F")


def test_filter_totals_match_counts_and_lines(db: Session) -> None:
    staff = make_world(db)
    today = date(2026, 6, 10)  # a Wednesday; no holiday before 端午 (19 June)
    # 启动调查 is due 3 working days after acceptance; "near" means due within 2 working days of today (12 June).
    near = apply(db, staff.worker, on=date(2026, 6, 9), members=[member("临期", _id(401), "head", "100")])
    # accepted 9 June: 10 (1), 11 (2), 12 (3) → due 12 June, today ≤ 12 June ≤ 12 June: near.
    fresh = apply(db, staff.worker, on=today, members=[member("新案", _id(402), "head", "100")])
    # accepted 10 June: 11 (1), 12 (2), 15 (3) → due 15 June, beyond the near mark: ok.
    late = apply(db, staff.worker, on=date(2026, 5, 20), members=[member("超时", _id(403), "head", "100")])
    # accepted 20 May: 21 (1), 22 (2), 25 (3) → due 25 May, before today: overdue.
    db.commit()

    rows, total, counts = inbox.inbox(db, actor=staff.worker, today=today)
    assert counts == {"overdue": 1, "near": 1, "all": 3} and total == 3
    assert [r.case_id for r in rows] == [late.id, near.id, fresh.id]  # earliest due first
    assert [r.state for r in rows] == ["overdue", "near", "ok"]

    rows, total, counts = inbox.inbox(db, actor=staff.worker, today=today, only="near")
    assert total == counts["near"] == 1 and [r.case_id for r in rows] == [near.id]

    rows, total, counts = inbox.inbox(db, actor=staff.worker, today=today, only="overdue")
    assert total == counts["overdue"] == 1 and [r.case_id for r in rows] == [late.id]

    # Paging: one line per page still reports the whole total.
    rows, total, _ = inbox.inbox(db, actor=staff.worker, today=today, per_page=1, page=2)
    assert total == 3 and [r.case_id for r in rows] == [near.id]
