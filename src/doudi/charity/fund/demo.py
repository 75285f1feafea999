"""Demo seed of the fund: a year of donations (some restricted), grants approved and one waiting, and a group
insurance policy of the county's recipients with its premium paid and a claim."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.auth.scope import under
from doudi.cases.models import Enrollment
from doudi.charity.fund import insurance, service
from doudi.charity.fund.models import Donation, Insured
from doudi.core.dates import month_start, shift_months

DONATIONS = [  # months back, receipt suffix, donor, kind, fen, purpose, restricted
    (5, "01", "安丘市慈心一日捐（机关干部）", "company", 8_600_000, "general", False),
    (4, "02", "某食品有限公司", "company", 2_000_000, "accessibility", True),
    (3, "03", "匿名", "anonymous", 50_000, "one_off_aid", False),
    (2, "04", "某农业科技公司", "company", 3_000_000, "insurance", True),
    (1, "05", "张某", "person", 200_000, "education", True),
    (0, "06", "安丘市慈心一日捐（企业职工）", "company", 4_500_000, "general", False),
]


def seed(session: Session, *, today: date, township: str) -> None:
    """Fill the fund for the demo county (idempotent)."""
    county = township[:6]
    if session.scalar(select(Donation.id).where(Donation.area_code == county).limit(1)) is not None:
        return
    maker, checker = system_actor(name="演示基金经办"), system_actor(name="演示基金复核")
    month = month_start(today)
    for back, suffix, donor, kind, fen, purpose, restricted in DONATIONS:
        on = shift_months(month, -back).replace(day=min(8, today.day) if back == 0 else 8)
        service.record_donation(session, actor=maker, area_code=county, receipt_no=f"CX{county}{today:%Y}{suffix}",
                                donor_name=donor, donor_kind=kind, amount_fen=fen, purpose=purpose,
                                restricted=restricted, received_on=on, today=today)
    households = list(session.scalars(under(select(Enrollment.household_id), Enrollment.area_code, township)
                                      .where(Enrollment.status == "active").order_by(Enrollment.id).limit(4)))
    grants = [(300_000, "accessibility", "accessibility", "卫生间扶手与坡道改造"),
              (150_000, "one_off_aid", "general", "大病支出型困难一次性救助"),
              (80_000, "education", "education", "高中助学"),
              (120_000, "one_off_aid", "general", "火灾后临时安置")]
    for i, (hh, (fen, purpose, pool, reason)) in enumerate(zip(households, grants, strict=False)):
        g = service.make_grant(session, actor=maker, amount_fen=fen, purpose=purpose, pool=pool, reason=reason,
                               household_id=hh)
        if i < 3:
            service.decide_grant(session, actor=checker, grant_id=g.id, version=g.version, approve=True, today=today)
    policy = insurance.create_policy(session, actor=maker, county=county, policy_no=f"BX{county}{today:%Y}",
                                     insurer="某财产保险公司", coverage="意外伤害、住院医疗补充",
                                     start_on=date(today.year, 1, 1),
                                     end_on=date(today.year, 12, 31))
    insurance.enrol(session, actor=maker, policy_id=policy.id, version=policy.version, on=today)
    if policy.member_count == 0:
        return
    _, held = service.pool_balance(session, county=county, pool="insurance")
    need = insurance.premium_fen(policy)
    pool = "insurance" if need <= held else "general"
    _, general = service.pool_balance(session, county=county, pool="general")
    if need > (held if pool == "insurance" else general):
        return
    g = insurance.request_premium(session, actor=maker, policy_id=policy.id, pool=pool)
    service.decide_grant(session, actor=checker, grant_id=g.id, version=g.version, approve=True, today=today)
    first = session.scalar(select(Insured.id).where(Insured.policy_id == policy.id).order_by(Insured.id).limit(1))
    if first is not None:
        c = insurance.record_claim(session, actor=maker, member_id=first, claim_no=f"LP{county}{today:%Y}01",
                                   incident_on=shift_months(month, -1), kind="住院", claimed_fen=500_000)
        insurance.answer_claim(session, actor=maker, claim_id=c.id, version=c.version, paid_fen=320_000)
