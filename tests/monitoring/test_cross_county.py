"""重复 across two counties of one city: the city's run raises one warning at the city, without either household;
the city user sees it, each county sees it with only its own side, and neither county may act on it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.service import AreaRow, upsert_areas
from doudi.auth.service import actor_for
from doudi.core.errors import NotFound
from doudi.monitoring import service
from doudi.monitoring.chain import chain_events
from doudi.monitoring.inbox import inbox_items
from doudi.monitoring.labels import LEVEL
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import run
from doudi.registry.models import Membership
from tests.factories import VILLAGE_A1, make_areas, make_household, make_user
from tests.monitoring.builders import ON, enroll
from tests.monitoring.test_http import _login
from tests.monitoring.test_run import SYSTEM

CITY, OTHER_COUNTY, OTHER_TOWN, OTHER_VILLAGE = "370700", "370702", "370702001", "370702001001"


def test_city_run_raises_one_cross_county_duplicate_each_county_sees_its_side(db: Session) -> None:
    """Household A (安丘 370784, village A1) and household B (潍城 370702) are both enrolled in 低保, and A's head
    is also a member of B. Each county's own run sees only its households: nothing. The city's run raises one
    重复 warning on the head, at the city 370700 with no household; 安丘 sees it with household A only, 潍城 with
    household B only; the city sees both sides; a county cannot act on it."""
    make_areas(db)
    upsert_areas(db, rows=[AreaRow(CITY, "潍坊市", True, "synthetic"),
                           AreaRow(OTHER_COUNTY, "潍城区", True, "synthetic"),
                           AreaRow(OTHER_TOWN, "城关街道", True, "synthetic"),
                           AreaRow(OTHER_VILLAGE, "北村", True, "synthetic")])
    a = make_household(db, VILLAGE_A1, head_name="赵重复")
    b = make_household(db, OTHER_VILLAGE, head_name="钱另户")
    head = a.members[0].person
    db.add(Membership(household_id=b.id, person_id=head.id, relation="other", valid_from=date(2020, 1, 1)))
    enroll(db, a, amount="537")
    enroll(db, b, amount="537")
    db.flush()

    anqiu = actor_for(make_user(db, "cc_anqiu", ["county_officer"], "370784"))
    weicheng = actor_for(make_user(db, "cc_weicheng", ["county_officer"], OTHER_COUNTY))
    city = actor_for(make_user(db, "cc_city", ["county_officer"], CITY))
    run(db, actor=anqiu, on=ON, area="370784")
    run(db, actor=weicheng, on=ON, area=OTHER_COUNTY)
    dup = select(MonitorWarning).where(MonitorWarning.rule_key == "duplicate")
    assert db.scalars(dup).all() == []  # a county resolves people only within its jurisdiction

    run(db, actor=city, on=ON, area=CITY)
    run(db, actor=city, on=ON, area=CITY)  # idempotent: still one warning, its sides once each
    found = db.scalars(dup).all()
    assert [(w.area_code, w.household_id, w.person_id) for w in found] == [(CITY, None, head.id)]
    w = found[0]
    # Neither household is named on the warning itself: the reason and compared values name the counties only.
    assert w.reason == ("赵重复 同时在 2 个县（区）的在保家庭中登记（跨县重复救助），"
                        "由上级统筹核实，各县（区）核实本辖区一侧")
    assert w.values == {"compared": [f"counties={OTHER_COUNTY}、370784"]}

    def seen(actor: object) -> list[tuple[int | None, str]]:
        got = service.get_warning(db, actor=actor, warning_id=w.id)  # type: ignore[arg-type]
        return [(s.household_id, s.area_code) for s in service.own_sides(db, actor=actor, warning=got)]  # type: ignore[arg-type]

    assert seen(anqiu) == [(a.id, VILLAGE_A1)]
    assert seen(weicheng) == [(b.id, OTHER_VILLAGE)]
    assert sorted(seen(city)) == sorted([(a.id, VILLAGE_A1), (b.id, OTHER_VILLAGE)])
    for actor in (anqiu, weicheng, city):
        rows, total = service.list_warnings(db, actor=actor, filters=service.Filters(rule="duplicate"), today=ON)
        assert total == 1 and rows[0].id == w.id
    with pytest.raises(NotFound):
        service.assign(db, actor=anqiu, warning_id=w.id, version=w.version, assignee_id=None)
    assert service.assign(db, actor=city, warning_id=w.id, version=w.version, assignee_id=None).status == "assigned"
    # A county outside the city sees nothing of it.
    other = actor_for(make_user(db, "cc_far", ["county_officer"], "440781"))
    with pytest.raises(NotFound):
        service.get_warning(db, actor=other, warning_id=w.id)
    assert SYSTEM.sees(CITY)



def _two_counties(db: Session, head: str, other_head: str) -> tuple[Any, Any]:
    """The city with 潍城 beside 安丘: household A (head `head`) in 安丘, its head also a member of household B
    (head `other_head`) in 潍城; both enrolled in 低保 at 537."""
    make_areas(db)
    upsert_areas(db, rows=[AreaRow(CITY, "潍坊市", True, "synthetic"),
                           AreaRow(OTHER_COUNTY, "潍城区", True, "synthetic"),
                           AreaRow(OTHER_TOWN, "城关街道", True, "synthetic"),
                           AreaRow(OTHER_VILLAGE, "北村", True, "synthetic")])
    a = make_household(db, VILLAGE_A1, head_name=head)
    b = make_household(db, OTHER_VILLAGE, head_name=other_head)
    db.add(Membership(household_id=b.id, person_id=a.members[0].person_id, relation="other",
                      valid_from=date(2020, 1, 1)))
    enroll(db, a, amount="537")
    enroll(db, b, amount="537")
    return a, b

def test_county_page_shows_only_its_side(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    """The city's cross-county 重复 on the console: 安丘's officer opens it and sees household A's link and not
    household B's, and no actions (only the city may act)."""
    a, b = _two_counties(db, "孙两县", "周另户")
    make_user(db, "cc_page", ["county_officer"], "370784")
    run(db, actor=actor_for(make_user(db, "cc_page_city", ["county_officer"], CITY)), on=ON, area=CITY)
    db.commit()
    w = db.scalar(select(MonitorWarning).where(MonitorWarning.rule_key == "duplicate"))
    assert w is not None
    _login(client, "cc_page")
    page = client.get(f"/monitoring/{w.id}")
    assert page.status_code == 200 and "本辖区一侧" in page.text
    assert f'href="/households/{a.id}"' in page.text and f'href="/households/{b.id}"' not in page.text
    assert 'id="assign-form"' not in page.text


def test_each_countys_side_in_its_household_chain_and_inbox(db: Session) -> None:
    """The city's cross-county 重复 on 吴两地 (household A in 安丘, also a member of household B in 潍城): 安丘's
    officer finds it in household A's chain (its own side's reason, the warning's status 新预警) and as a
    跨县预警 in the inbox, due on the warning's deadline; nothing of it in household B's chain; 潍城 sees it in
    household B's chain only. The city's officer has it once in the inbox, as the warning itself (预警), not as
    a side."""
    a, b = _two_counties(db, "吴两地", "郑另户")
    anqiu = actor_for(make_user(db, "cc_chain_anqiu", ["county_officer"], "370784"))
    weicheng = actor_for(make_user(db, "cc_chain_weicheng", ["county_officer"], OTHER_COUNTY))
    city = actor_for(make_user(db, "cc_chain_city", ["county_officer"], CITY))
    run(db, actor=city, on=ON, area=CITY)
    w = db.scalars(select(MonitorWarning).where(MonitorWarning.rule_key == "duplicate")).one()

    def chain(actor: object, household: int) -> list[tuple[str, str, str]]:
        return [(e.kind, e.title, e.detail) for e in chain_events(db, actor=actor,  # type: ignore[arg-type]
                                                                  household_id=household)]

    def side(household: int) -> str:
        return (f"{LEVEL[w.level]}预警（跨县，由上级核实）：吴两地 在本辖区家庭 {household} 在保，"
                "同时在其他县（区）的在保家庭中登记（跨县重复）")

    assert chain(anqiu, a.id) == [("监测预警", side(a.id), "新预警")]
    assert chain(anqiu, b.id) == []
    assert chain(weicheng, b.id) == [("监测预警", side(b.id), "新预警")]

    mine = [(i.kind, i.url, i.due_on) for i in inbox_items(db, actor=anqiu, today=ON) if i.url == f"/monitoring/{w.id}"]
    assert mine == [("跨县预警", f"/monitoring/{w.id}", w.due_on)]
    above = [i.kind for i in inbox_items(db, actor=city, today=ON) if i.url == f"/monitoring/{w.id}"]
    assert above == ["预警"]
