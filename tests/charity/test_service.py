"""Needs through their states: consent refusal, a partner's scope and masking, concurrent answers, escalation,
and a need from a monitoring warning reaching its partner as a referral."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.charity import consents, flows, jobs, service
from doudi.charity.models import Consent, Match
from doudi.core.errors import Conflict, NotFound, ValidationFailed
from doudi.monitoring.models import MonitorWarning, Referral
from tests.charity.builders import ON, consent, need, world


def test_confirm_refused_without_consent_then_partner_accepts_and_delivers(db: Session) -> None:
    w = world(db)
    n = need(db, w.worker, w.a)
    # village A1 lies in township A: town_care (township) is nearer than county_fund → proposed first
    assert service.propose(db, actor=w.worker, today=ON, need_ids=[n.id]) == 1
    db.refresh(n)
    assert n.status == "proposed"
    with pytest.raises(ValidationFailed) as refused:
        flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    assert "书面同意" in str(refused.value)
    consent(db, w.worker, w.a)
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    assert (n.status, n.partner_key) == ("matched", "town_care")
    m = db.scalar(select(Match).where(Match.need_id == n.id))
    assert m is not None
    # 5 working days from Monday 2026-11-02 → Monday 2026-11-09
    assert m.due_on == date(2026, 11, 9)
    # The partner sees it, masked: 139****5678-style phone, ID number masked, disability only as ***
    shown = service.shown_all(db, service.list_needs(db, actor=w.partner, filters=service.Filters(), today=ON)[0])
    assert [s.id for s in shown] == [n.id]
    assert shown[0].phone.startswith("139") and shown[0].phone != "13912345678" and "*" in shown[0].phone
    assert "*" in shown[0].id_number and shown[0].disability == "***"
    flows.accept(db, actor=w.partner, need_id=n.id, version=n.version, today=ON)
    flows.deliver(db, actor=w.partner, need_id=n.id, version=n.version, result="已发放 3000 元",
                  delivered_fen=300_000, today=ON)
    assert (n.status, n.delivered_fen) == ("delivered", 300_000)


def test_partner_outside_its_referrals_is_refused(db: Session) -> None:
    w = world(db)
    consent(db, w.worker, w.a)
    n = need(db, w.worker, w.a)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    # county_fund was not sent this need: it neither sees nor acts on it
    assert service.list_needs(db, actor=w.other_partner, filters=service.Filters(), today=ON) == ([], 0)
    with pytest.raises(NotFound):
        flows.accept(db, actor=w.other_partner, need_id=n.id, version=n.version, today=ON)
    # a partner cannot raise or confirm needs either
    with pytest.raises(Exception) as denied:
        service.propose(db, actor=w.partner, today=ON)
    assert "权限" in str(denied.value)


def test_concurrent_accept_refused_by_version(db: Session) -> None:
    w = world(db)
    consent(db, w.worker, w.a)
    n = need(db, w.worker, w.a)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    seen = n.version
    flows.accept(db, actor=w.partner, need_id=n.id, version=seen, today=ON)
    with pytest.raises(Conflict):  # the same page submitted twice: the version moved on
        flows.accept(db, actor=w.partner, need_id=n.id, version=seen, today=ON)


def test_withdrawn_consent_hides_the_need_and_stops_sharing(db: Session) -> None:
    w = world(db)
    consent(db, w.worker, w.a)
    n = need(db, w.worker, w.a)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    c = db.scalar(select(Consent).where(Consent.household_id == w.a.id))
    assert c is not None
    consents.withdraw(db, actor=w.worker, consent=c, version=c.version, reason="本人撤回", today=ON)
    with pytest.raises(NotFound):
        service.get_need(db, actor=w.partner, need_id=n.id)
    assert consents.valid(db, household_id=w.a.id, purpose="cash") is None


def test_capacity_taken_across_a_batch(db: Session) -> None:
    w = world(db)
    county = system_actor(name="test")
    # Three cash needs in township A with deadlines 20, 21, 22 Nov; town_care has 1 place, county_fund 2.
    ids = [need(db, county, w.a, deadline=date(2026, 11, d)).id for d in (22, 20, 21)]
    assert service.propose(db, actor=county, today=ON) == 3
    got = {m.need_id: m.partner_key for m in db.scalars(select(Match))}
    # the earliest deadline (20 Nov, ids[1]) gets the nearest partner town_care; the others county_fund (2 places)
    assert got == {ids[1]: "town_care", ids[0]: "county_fund", ids[2]: "county_fund"}
    # a fourth need finds every place taken: it stays open, visible in the ledger as unmet
    fourth = need(db, county, w.a, deadline=date(2026, 11, 25))
    assert service.propose(db, actor=county, today=ON) == 0
    rows, total = service.list_needs(db, actor=w.worker, filters=service.Filters(status="unmet"), today=ON)
    assert fourth.id in [r.id for r in rows] and total == 4  # proposed ones are unmet too until a partner helps


def test_daily_job_escalates_unanswered(db: Session) -> None:
    w = world(db)
    consent(db, w.worker, w.a)
    n = need(db, w.worker, w.a)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    # due 2026-11-09: on the 9th nothing happens, on the 10th the proposal expires and the need is escalated
    assert jobs.escalate(db, today=date(2026, 11, 9)) == (0, 0, 0)
    assert jobs.escalate(db, today=date(2026, 11, 10)) == (1, 0, 0)
    db.refresh(n)
    assert n.status == "escalated"
    # re-matching skips town_care (it let the deadline pass) and proposes county_fund
    service.propose(db, actor=w.worker, today=date(2026, 11, 10), need_ids=[n.id])
    live = db.scalars(select(Match).where(Match.need_id == n.id, Match.status == "proposed")).all()
    assert [m.partner_key for m in live] == ["county_fund"]


def test_need_from_warning_reaches_partner_as_referral(db: Session) -> None:
    w = world(db)
    head = w.a.members[0]
    warning = MonitorWarning(rule_key="expense", level="orange", status="new", subject_key=f"h{w.a.id}",
                             open_key=f"expense:h{w.a.id}", person_id=head.person_id, household_id=w.a.id,
                             area_code=w.a.area_code, person_name="张三", reason="医疗支出过高",
                             first_seen_on=ON, last_seen_on=ON, due_on=ON, version=1)
    db.add(warning)
    db.flush()
    consent(db, w.worker, w.a)
    n = flows.need_from_warning(db, actor=w.worker, warning_id=warning.id, kind="cash", amount_fen=500_000, size="",
                                deadline=date(2026, 11, 30), today=ON)
    assert (n.source, n.source_id) == ("warning", warning.id)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    r = db.get(Referral, n.referral_id)
    assert r is not None and (r.target_kind, r.target_key, r.status) == ("partner", "town_care", "sent")
    flows.accept(db, actor=w.partner, need_id=n.id, version=n.version, today=ON)
    flows.deliver(db, actor=w.partner, need_id=n.id, version=n.version, result="已资助 5000 元",
                  delivered_fen=500_000, today=ON)
    assert (r.status, r.result) == ("answered", "已资助 5000 元")


def test_chain_and_inbox_show_needs_and_matches(db: Session) -> None:
    from doudi.charity import chain, inbox

    w = world(db)
    consent(db, w.worker, w.a)
    n = need(db, w.worker, w.a)
    service.propose(db, actor=w.worker, today=ON, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=ON)
    # the partner's inbox: one need to answer, due with the need's deadline (30 Nov), not overdue on ON
    items = inbox.inbox_items(db, actor=w.partner, today=ON)
    assert [(i.url, i.overdue) for i in items] == [(f"/charity/needs/{n.id}", False)]
    assert inbox.inbox_items(db, actor=w.other_partner, today=ON) == []
    flows.accept(db, actor=w.partner, need_id=n.id, version=n.version, today=ON)
    flows.deliver(db, actor=w.partner, need_id=n.id, version=n.version, result="已资助", delivered_fen=300_000,
                  today=ON)
    events = chain.chain_events(db, actor=w.worker, household_id=w.a.id)
    kinds = sorted(e.kind for e in events)
    # raised (need), delivered (help), and the match sent to town_care
    assert kinds == ["慈善匹配", "慈善衔接需求", "社会力量帮扶"]
    assert any("3000.00 元" in e.title for e in events)
