"""Demo charity data: partners of the demo county (one of them the demo partner account's), consents, and needs
at every status, so the ledger, the partner's workspace, the inbox and the dashboard have work to show."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.auth.models import User
from doudi.auth.permissions import Actor, OrgKind, on_behalf, system_actor
from doudi.auth.scope import under
from doudi.auth.service import actor_for
from doudi.charity import consents, flows, partners, service
from doudi.charity.models import Need, NeedStatus
from doudi.charity.schemas import NeedCreate, PartnerCreate
from doudi.registry.models import Household
from doudi.synth.demo_accounts import DEMO_REGION

PARTNERS = [
    PartnerCreate(key="cixin_fund", name="慈心公益基金会", kind="charity", contact="郑联络", area_code=DEMO_REGION,
                  offers=["cash", "goods", "insurance"], capacity={"cash": 20, "goods": 20, "insurance": 10}),
    PartnerCreate(key="xinan_social_work", name="新安社会工作服务中心", kind="social_work", contact="钱社工",
                  area_code=f"{DEMO_REGION}001", offers=["services", "training"],
                  capacity={"services": 8, "training": 8}),
    PartnerCreate(key="anju_builders", name="安居建筑有限公司", kind="company", contact="孙经理",
                  area_code=DEMO_REGION, offers=["housing_repair", "jobs"], capacity={"housing_repair": 3, "jobs": 5}),
    PartnerCreate(key="xinan_neighbours", name="新安邻里互助会", kind="community", contact="周会长",
                  area_code=f"{DEMO_REGION}001", offers=["goods", "services"], capacity={"goods": 5, "services": 5}),
]
# (kind, amount in fen or size, days to deadline, where the demo leaves it)
NEEDS = [("cash", 300_000, 20, "open"), ("housing_repair", "一处住房无障碍改造", 40, "proposed"),
         ("goods", 50_000, 15, "matched"), ("services", "每周两次上门照料", 30, "accepted"),
         ("cash", 200_000, 10, "delivered"), ("training", "家政技能培训一期", 60, "closed"),
         ("jobs", "公益性岗位一个", 30, "declined"), ("insurance", 36_000, 25, "open")]


def ensure_partners(session: Session) -> None:
    """Register the demo partners that do not exist yet (before the demo partner account is created)."""
    if session.get(Area, DEMO_REGION) is None:
        return
    system = system_actor(name="演示数据")
    for p in PARTNERS:
        if partners.by_key(session, p.key) is None:
            partners.create(session, actor=system, data=p)


def _partner(key: str) -> Actor:
    """Acting for the partner a need was sent to (the demo account is one of them)."""
    return Actor(username=f"演示机构 {key}", area_code=DEMO_REGION, roles=frozenset({"partner"}),
                 org_kind=OrgKind.PARTNER, org=key)


def seed(session: Session, *, today: date, township: str) -> None:
    """Consents and needs in the township, walked to each status by the caseworker and the demo partner."""
    ensure_partners(session)
    worker_user = session.scalar(select(User).where(User.username == "caseworker"))
    if worker_user is None:
        return
    worker = on_behalf(actor_for(worker_user))
    homes = list(session.scalars(under(select(Household), Household.area_code, township)
                                 .order_by(Household.id).limit(len(NEEDS))))
    for hh, (kind, amount, days, goal) in zip(homes, NEEDS, strict=False):
        if goal != "open" or kind != "insurance":  # one need stays without consent: it cannot be sent
            consents.record_portal(session, actor=worker, household=hh, purpose=kind, signed_by="户主",
                                   today=today - timedelta(days=3))
        need = service.raise_need(session, actor=worker, data=NeedCreate(
            household_id=hh.id, source="gap", kind=kind, amount_fen=amount if isinstance(amount, int) else None,
            size=amount if isinstance(amount, str) else "", description="救助后仍有困难，申请社会力量帮扶",
            deadline=today + timedelta(days=days)), today=today)
        _walk(session, need, goal, worker, today)


def _walk(session: Session, need: Need, goal: str, worker: Actor, today: date) -> None:
    if goal == "open":
        return
    service.propose(session, actor=worker, today=today, need_ids=[need.id])
    session.refresh(need)
    if goal == "proposed" or need.status != NeedStatus.PROPOSED:
        return
    flows.confirm(session, actor=worker, need_id=need.id, version=need.version, match_id=None, today=today)
    if goal == "matched" or need.partner_key is None:
        return
    partner = _partner(need.partner_key)
    if goal == "declined":
        flows.decline(session, actor=partner, need_id=need.id, version=need.version, reason="本期名额已满",
                      today=today)
        return
    flows.accept(session, actor=partner, need_id=need.id, version=need.version, today=today)
    if goal == "accepted":
        return
    flows.deliver(session, actor=partner, need_id=need.id, version=need.version, result="已发放帮扶，家庭确认收到",
                  delivered_fen=need.amount_fen, today=today)
    if goal == "closed":
        service.close(session, actor=worker, need_id=need.id, version=need.version, reason="", today=today)
