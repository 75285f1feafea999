"""The ledger's page: an area's warnings, open ones in due order (then by number), closed ones last when the filter
lets them in, in pages; the same on both databases, through the indexes migration 2720 gives the page."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.monitoring import service
from doudi.monitoring.models import MonitorWarning
from tests.factories import TOWN_A, VILLAGE_A1, VILLAGE_B1

ON = date(2026, 11, 16)


def _warning(db: Session, n: int, area: str, status: str, due: date) -> int:
    w = MonitorWarning(rule_key="death", level="red", status=status, subject_key=f"p{n}",
                       open_key=None if status == "closed" else f"death:p{n}", area_code=area, first_seen_on=ON,
                       last_seen_on=ON, due_on=due, version=1)
    db.add(w)
    db.flush()
    return w.id


def _ids(db: Session, area: str, status: str, page: int = 1, per_page: int = 50) -> tuple[list[int], int]:
    actor = Actor(username="u", area_code=area, roles=frozenset({"county_officer"}), user_id=None)
    rows, total = service.list_warnings(db, actor=actor, filters=service.Filters(status=status), today=ON,
                                        page=page, per_page=per_page)
    return [w.id for w in rows], total


def test_the_page_is_in_due_order_with_closed_warnings_last(db: Session) -> None:
    """Five warnings of 370784 and one of the next county (370785), ordered by hand: due 11-17 (B), 11-18 (A,
    assigned), 11-20 twice (A, by number), and the closed one of 11-18 last, when the filter lets it in."""
    w1 = _warning(db, 1, VILLAGE_A1, "new", date(2026, 11, 20))
    w2 = _warning(db, 2, VILLAGE_A1, "closed", date(2026, 11, 18))
    w3 = _warning(db, 3, VILLAGE_A1, "assigned", date(2026, 11, 18))
    w4 = _warning(db, 4, VILLAGE_A1, "new", date(2026, 11, 20))
    w5 = _warning(db, 5, VILLAGE_B1, "new", date(2026, 11, 17))
    _warning(db, 6, "370785001001", "new", date(2026, 11, 16))  # the next county: never in 370784's pages

    assert _ids(db, "370784", "") == ([w5, w3, w1, w4, w2], 5)
    assert _ids(db, "370784", "open") == ([w5, w3, w1, w4], 4)
    assert _ids(db, "370784", "closed") == ([w2], 1)
    assert _ids(db, "370784", "open", page=2, per_page=2) == ([w1, w4], 4)
    # Pages of every status across the open/closed boundary: [w5, w3], [w1, w4], [w2]; then [w4, w2] in threes.
    assert [_ids(db, "370784", "", page=n, per_page=2) for n in (1, 2, 3, 4)] == [
        ([w5, w3], 5), ([w1, w4], 5), ([w2], 5), ([], 5)]
    assert _ids(db, "370784", "", page=2, per_page=3) == ([w4, w2], 5)
    assert _ids(db, TOWN_A, "open") == ([w3, w1, w4], 3)
    assert _ids(db, VILLAGE_B1, "") == ([w5], 1)
