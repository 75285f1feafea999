"""The case page lists its own open follow-up tasks, however many other cases of the area have earlier ones (it
used to filter the area's first 50 by due date, so a case's task could vanish from its page)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy.orm import Session

from doudi.cases.models import Task
from doudi.core.ids import build_id_number
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found is not None
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": found.group(1)})


def test_a_case_page_shows_its_task_behind_fifty_earlier_ones(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    on = date(2026, 11, 2)
    busy = apply(db, staff.worker, on=on, members=[member("甲户主", build_id_number("370784", date(1971, 1, 1), 801,
                                                                                    "M"), "head")])
    quiet = apply(db, staff.worker, on=on, members=[member("乙户主", build_id_number("370784", date(1972, 2, 2), 803,
                                                                                     "M"), "head")])
    for i in range(51):  # 51 open tasks of another case, all due before the quiet case's one
        db.add(Task(case_id=busy.id, kind="paperwork", title=f"补齐材料第{i + 1}项", due_on=on + timedelta(days=i),
                    version=1))
    db.add(Task(case_id=quiet.id, kind="paperwork", title="补齐乙户入户调查表", due_on=date(2027, 3, 1), version=1))
    db.flush()
    _login(client, "worker1")
    quiet_page = client.get(f"/cases/{quiet.id}").text
    assert "补齐乙户入户调查表" in quiet_page and "补齐材料第1项" not in quiet_page
    busy_page = client.get(f"/cases/{busy.id}").text
    assert busy_page.count("补齐材料第") == 51 and "补齐乙户入户调查表" not in busy_page  # all its own, no other
