"""One count of overdue work (issue 15 item 10): the workbench card, the inbox's 超时 filter and count, and the case
list's 仅超时 filter all count "steps not done whose deadline has passed, in the user's area"."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy.orm import Session

from doudi.cases import inbox
from doudi.cases import service as svc
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.web.dashboard import dashboard_cards
from tests.cases.world import TAISHAN_VILLAGE, apply, make_world, member
from tests.factories import PASSWORD, VILLAGE_A1


def _id(seq: int, area: str = "370784") -> str:
    return build_id_number(area, date(1968, 2, 1), seq, "F")


def test_card_inbox_and_case_list_agree(db: Session, client) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    today = clock.today()
    long_ago = today - timedelta(days=60)
    # Three cases of 新安街道 accepted 60 days ago: each waits on 启动调查, due 3 working days after acceptance,
    # so each has one overdue step. One fresh case: its step is due in 3 working days, not overdue.
    old = [apply(db, staff.worker, on=long_ago, members=[member(f"超时{i}", _id(300 + i), "head", "100")])
           for i in range(3)]
    apply(db, staff.worker, on=today, members=[member("新案", _id(310), "head", "100")])
    # A case of 台山 (江门), outside 新安街道 and outside 安丘: never counted for 安丘 users.
    apply(db, staff.js_worker, area=TAISHAN_VILLAGE, on=long_ago, members=[member("外县", _id(311, "440781"),
                                                                                   "head", "100")])
    # A withdrawn case with an overdue step is not open: not counted.
    gone = apply(db, staff.worker, area=VILLAGE_A1, on=long_ago, members=[member("撤回", _id(312), "head", "100")])
    from doudi.cases import applications

    applications.withdraw(db, actor=staff.worker, case=gone, reason="申请人撤回", version=gone.version)
    db.commit()

    # The caseworker (新安街道): 3 overdue steps in 3 cases. The approver of the same township cannot act on
    # 启动调查, yet the same 3 steps are overdue in their area: the count is the area's, not the role's.
    for actor in (staff.worker, staff.approver, staff.county):
        steps, cases = svc.overdue_counts(db, actor=actor)
        assert (steps, cases) == (3, 3), actor.username
        card = next(c for c in dashboard_cards(db, actor=actor) if c.title == "超时环节")
        assert card.value == "3" and card.note == "涉及 3 件案件"
        rows, total, counts = inbox.inbox(db, actor=actor, only="overdue", today=today)
        assert total == 3 and counts["overdue"] == 3
        assert {r.case_id for r in rows} == {c.id for c in old}
        listed, n = svc.list_cases(db, actor=actor, filters=svc.CaseFilter(overdue=True))
        assert n == 3 and {c.id for c in listed} == {c.id for c in old}
    # 台山's county officer sees only 台山's overdue step.
    assert svc.overdue_counts(db, actor=staff.js_county) == (1, 1)

    # The pages show the same number: the card, the inbox's 超时 chip and the list's total.
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"username": "approver1", "password": PASSWORD, "csrf_token": token.group(1)})
    assert re.search(r'超时环节</div>\s*<div class="card-value">3<', client.get("/").text)
    assert re.search(r'已超时限</div><div class="card-value">3<', client.get("/inbox?only=overdue").text)
    assert "共 3 条" in client.get("/cases?overdue=1").text
