"""The charity fund: hand-computed balances per pool with restricted money, maker-checker, the restricted
balance refusal, duplicate receipts, a crash mid-operation, and two concurrent approvals of one grant."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.permissions import Actor
from doudi.charity.fund import service
from doudi.charity.fund.models import Donation, Grant, GrantStatus, Movement
from doudi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from doudi.db.engine import session_scope, sessionmaker_for
from tests.charity.builders import open_need
from tests.conftest import Database
from tests.factories import VILLAGE_A1, make_areas, make_household, make_user

COUNTY = "370784"
DAY = date(2026, 3, 10)


@dataclass
class Staff:
    """A maker (county officer), a checker (county fund reviewer), one person holding both roles and a township
    caseworker."""

    maker: Actor
    checker: Actor
    both: Actor
    worker: Actor


def make_staff(db: Session) -> Staff:
    """Areas and the fund's staff."""
    make_areas(db)
    users = {"maker": make_user(db, "fund_maker", ["county_officer"], COUNTY),
             "checker": make_user(db, "fund_checker", ["county_fund_reviewer"], COUNTY),
             "both": make_user(db, "fund_both", ["county_officer", "county_fund_reviewer"], COUNTY),
             "worker": make_user(db, "fund_worker", ["township_caseworker"], "370784001")}
    return Staff(**{k: auth.actor_for(u) for k, u in users.items()})


def give(db: Session, actor: Actor, receipt: str, fen: int, purpose: str, restricted: bool,
         on: date = DAY) -> Donation:
    """A donation to the county's fund."""
    return service.record_donation(db, actor=actor, area_code=COUNTY, receipt_no=receipt, donor_name="爱心企业",
                                   donor_kind="company", amount_fen=fen, purpose=purpose, restricted=restricted,
                                   received_on=on, today=DAY)


def test_balances_per_pool_with_restricted_money(db: Session) -> None:
    s = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    give(db, s.maker, "R-001", 1_000_000, "general", False)  # 10,000.00 to general
    give(db, s.maker, "R-002", 300_000, "accessibility", True)  # 3,000.00 restricted to 无障碍改造
    give(db, s.maker, "R-003", 50_000, "insurance", True)  # 500.00 restricted to 补充保险
    give(db, s.maker, "R-004", 20_000, "medical", False)  # 200.00 meant for medical, not restricted: general
    # general 1,000,000 + 20,000 = 1,020,000; accessibility 300,000; insurance 50,000
    assert service.balances(db, actor=s.checker, county=COUNTY) == {
        "general": 1_020_000, "one_off_aid": 0, "insurance": 50_000, "accessibility": 300_000, "medical": 0,
        "education": 0}
    need = open_need(db, hh)
    other = open_need(db, make_household(db, VILLAGE_A1))
    with pytest.raises(ValidationFailed, match="不属于该家庭"):  # another household's need
        service.make_grant(db, actor=s.maker, amount_fen=100, purpose="accessibility", pool="accessibility",
                           reason="无障碍改造", household_id=hh.id, need_id=other.id)
    g1 = service.make_grant(db, actor=s.both, amount_fen=250_000, purpose="accessibility", pool="accessibility",
                            reason="无障碍改造", household_id=hh.id, need_id=need.id)
    # 600.00 more for accessibility from its restricted money: 3,000.00 − 2,500.00 pending = 500.00 available
    with pytest.raises(Conflict, match=r"可用 500\.00 元，不足拨付 600\.00 元"):
        service.make_grant(db, actor=s.maker, amount_fen=60_000, purpose="accessibility", pool="accessibility",
                           reason="无障碍改造（追加）", household_id=hh.id)
    # restricted insurance money cannot pay one-off aid
    with pytest.raises(ValidationFailed):
        service.make_grant(db, actor=s.maker, amount_fen=100, purpose="one_off_aid", pool="insurance",
                           reason="一次性救助", household_id=hh.id)
    g2 = service.make_grant(db, actor=s.maker, amount_fen=60_000, purpose="accessibility", pool="general",
                            reason="无障碍改造（追加，非定向资金）", household_id=hh.id)
    g3 = service.make_grant(db, actor=s.maker, amount_fen=100_000, purpose="medical", pool="general",
                            reason="大病自付", household_id=hh.id)
    with pytest.raises(PermissionDenied, match="不能审批本人提交"):
        service.decide_grant(db, actor=s.both, grant_id=g1.id, version=g1.version, approve=True, today=DAY)
    with pytest.raises(PermissionDenied):  # the maker role alone cannot approve at all
        service.decide_grant(db, actor=s.maker, grant_id=g1.id, version=g1.version, approve=True, today=DAY)
    with pytest.raises(PermissionDenied):  # a township caseworker has no fund rights
        service.decide_grant(db, actor=s.worker, grant_id=g1.id, version=g1.version, approve=True, today=DAY)
    service.decide_grant(db, actor=s.checker, grant_id=g1.id, version=g1.version, approve=True, today=DAY)
    service.decide_grant(db, actor=s.checker, grant_id=g2.id, version=g2.version, approve=True, today=DAY)
    service.decide_grant(db, actor=s.checker, grant_id=g3.id, version=g3.version, approve=False, today=DAY,
                         note="已由医疗救助解决")
    with pytest.raises(Conflict):  # decided already (and its version moved on)
        service.decide_grant(db, actor=s.checker, grant_id=g3.id, version=None, approve=True, today=DAY)
    # accessibility 300,000 − 250,000 = 50,000; general 1,020,000 − 60,000 = 960,000; g3 rejected moves nothing
    assert service.balances(db, actor=s.checker, county=COUNTY) == {
        "general": 960_000, "one_off_aid": 0, "insurance": 50_000, "accessibility": 50_000, "medical": 0,
        "education": 0}
    assert service.pool_balance(db, county=COUNTY, pool="general") == (3, 960_000)  # 2 donations, 1 grant
    assert service.ledger_problems(db, county=COUNTY) == []
    assert db.get(Grant, g3.id).status == GrantStatus.REJECTED  # type: ignore[union-attr]


def test_duplicate_receipt_is_refused_and_leaves_the_ledger_as_it_was(db: Session) -> None:
    s = make_staff(db)
    give(db, s.maker, "R-100", 10_000, "general", False)
    with pytest.raises(Conflict, match="捐赠票据号 R-100 已登记过"):
        give(db, s.maker, "R-100", 10_000, "general", False)
    with pytest.raises(ValidationFailed):
        give(db, s.maker, "R-101", 0, "general", False)  # a zero amount
    with pytest.raises(ValidationFailed):
        give(db, s.maker, "R-102", 100, "general", True)  # restricted needs a purpose
    assert db.scalar(select(func.count()).select_from(Donation)) == 1
    assert service.pool_balance(db, county=COUNTY, pool="general") == (1, 10_000)


def test_a_grant_outside_the_area_or_without_a_target_is_refused(db: Session) -> None:
    s = make_staff(db)
    give(db, s.maker, "R-200", 10_000, "general", False)
    with pytest.raises(ValidationFailed, match="关联案件或家庭"):
        service.make_grant(db, actor=s.maker, amount_fen=100, purpose="general", pool="general", reason="x")
    hh = make_household(db, VILLAGE_A1)
    elsewhere = auth.actor_for(make_user(db, "taishan_officer", ["county_officer"], "440781"))
    with pytest.raises(NotFound):  # a household of another county looks like none
        service.make_grant(db, actor=elsewhere, amount_fen=100, purpose="general", pool="general", reason="x",
                           household_id=hh.id)
    with pytest.raises(NotFound):  # and so does another county's fund
        service.balances(db, actor=elsewhere, county=COUNTY)


def _seeded(database: Database) -> tuple[int, int]:
    """A committed world on its own database: 1,000.00 general money and one pending grant of 800.00."""
    with session_scope(database.engine) as db:
        s = make_staff(db)
        hh = make_household(db, VILLAGE_A1)
        give(db, s.maker, "R-300", 100_000, "general", False)
        g = service.make_grant(db, actor=s.maker, amount_fen=80_000, purpose="one_off_aid", pool="general",
                               reason="一次性救助", household_id=hh.id)
        return g.id, g.version


def _checker(db: Session, name: str = "fund_checker") -> Actor:
    from doudi.auth.models import User

    user = db.scalar(select(User).where(User.username == name))
    assert user is not None
    return auth.actor_for(user)


def test_a_crash_mid_operation_leaves_no_partial_state(fresh_database: Database) -> None:
    grant_id, version = _seeded(fresh_database)
    with pytest.raises(RuntimeError), session_scope(fresh_database.engine) as db:
        service.decide_grant(db, actor=_checker(db), grant_id=grant_id, version=version, approve=True, today=DAY)
        db.flush()
        raise RuntimeError("the process dies before the commit")
    with pytest.raises(RuntimeError), session_scope(fresh_database.engine) as db:
        give(db, _checker(db, "fund_maker"), "R-301", 5_000, "general", False)
        raise RuntimeError("the process dies before the commit")
    with session_scope(fresh_database.engine) as db:
        g = db.get(Grant, grant_id)
        assert g is not None and g.status == GrantStatus.PENDING and g.version == version
        assert db.scalar(select(func.count()).select_from(Movement)) == 1  # the first donation only
        assert db.scalar(select(Donation.id).where(Donation.receipt_no == "R-301")) is None
        assert service.pool_balance(db, county=COUNTY, pool="general") == (1, 100_000)
        assert service.ledger_problems(db, county=COUNTY) == []


def test_two_concurrent_approvals_of_one_grant_one_wins(fresh_database: Database) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("row locks under real concurrency: PostgreSQL")
    grant_id, version = _seeded(fresh_database)
    factory = sessionmaker_for(fresh_database.engine)
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def approve() -> None:
        with factory() as db:
            actor = _checker(db)
            gate.wait()
            try:
                service.decide_grant(db, actor=actor, grant_id=grant_id, version=version, approve=True, today=DAY)
                db.commit()
                outcomes.append("approved")
            except Conflict:
                db.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["approved", "conflict"]
    with factory() as db:
        # 1,000.00 − 800.00 = 200.00, posted once
        assert service.pool_balance(db, county=COUNTY, pool="general") == (2, 20_000)
        assert db.scalar(select(func.count()).select_from(Movement).where(Movement.grant_id == grant_id)) == 1


def test_the_same_receipt_sent_twice_at_once_is_recorded_once(fresh_database: Database) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL")
    _seeded(fresh_database)
    factory = sessionmaker_for(fresh_database.engine)
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def donate() -> None:
        with factory() as db:
            actor = _checker(db, "fund_maker")
            gate.wait()
            try:
                give(db, actor, "R-SAME", 7_000, "general", False)
                db.commit()
                outcomes.append("recorded")
            except Conflict:
                db.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=donate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    with factory() as db:
        # 1,000.00 seeded + 70.00 once = 1,070.00 in the general pool, posted as its second movement
        assert service.pool_balance(db, county=COUNTY, pool="general") == (2, 107_000)
        assert db.scalar(select(func.count()).select_from(Donation).where(Donation.receipt_no == "R-SAME")) == 1
        assert service.ledger_problems(db, county=COUNTY) == []
