"""Demo seed: 7 procured providers across the county, the dispersed 特困 persons assessed and assigned, homes
with synthetic coordinates, last month's and this month's visits (verified, flagged, missed), last month settled."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth.models import User
from doudi.auth.permissions import system_actor
from doudi.auth.scope import under
from doudi.care import service as care
from doudi.care import settlement, visits
from doudi.care.models import Caregiver, CareProvider, CareVisit, Trigger, VisitStatus
from doudi.care.rules import ITEMS, LOCAL, care_rules, level_params, local_time, verify
from doudi.cases.models import Enrollment
from doudi.core.dates import month_start, shift_months
from doudi.db.frames import read_frame, write_frame
from doudi.registry.models import Household, Membership, Person

PROVIDERS = (
    ("ankang_care", "安康养老服务中心"), ("fushou_care", "福寿居家养老服务社"), ("kangle_care", "康乐社会工作服务中心"),
    ("yihe_care", "颐和护理服务有限公司"), ("leling_care", "乐龄居家照护中心"), ("xiyang_care", "夕阳红养老服务中心"),
    ("renhe_care", "仁和健康服务有限公司"),
)
CATALOGUE = ["cleaning", "meal", "bathing", "medical", "errands", "company", "rehab"]
CENTRE = (36.4780, 119.2190)  # 安丘 city centre; homes are placed around it synthetically
GIVER_NAMES = "陈李张王刘赵孙周吴郑"


def _dispersed(session: Session, region: str) -> list[tuple[int, int, str, str, int]]:
    """(person, household, area, hukou, unable items) of living dispersed 特困 persons in the county."""
    stmt = (select(Person.id, Household.id, Household.area_code, Household.hukou_type, Person.self_care_unable_items)
            .join(Membership, Membership.person_id == Person.id)
            .join(Household, Household.id == Membership.household_id)
            .where(Person.extreme_poverty_supported.is_(True), Person.support_mode == "dispersed",
                   Person.date_of_death.is_(None), Membership.valid_to.is_(None),
                   ).order_by(Person.id))
    stmt = under(stmt, Household.area_code, region)
    return [tuple(r) for r in session.execute(stmt).all()]  # type: ignore[misc]


def seed(session: Session, *, today: date, township: str) -> None:
    """Fill the care domain for the demo county (idempotent: does nothing when providers exist)."""
    if session.scalar(select(CareProvider.id).limit(1)) is not None:
        return
    today = max(today, datetime.now(UTC).astimezone(LOCAL).date())  # the county's date: caregivers see "today"
    region = township[:6]
    actor = system_actor(name="演示数据")
    rng = random.Random(2026)
    towns = list(session.scalars(select(Area.code).where(Area.code.startswith(region), Area.code != region)
                                 .where(Area.code.like("_________")).order_by(Area.code)))
    if township not in towns:
        towns.insert(0, township)
    this_month = month_start(today)
    last_month = shift_months(this_month, -1)
    start = shift_months(this_month, -12)
    providers = []
    for i, (key, name) in enumerate(PROVIDERS):
        served = [t for j, t in enumerate(towns) if j % len(PROVIDERS) == i] or [towns[i % len(towns)]]
        p = care.create_provider(session, actor=actor, key=key, name=name, area_code=region,
                                 contract_no=f"AQCG-{start.year}-{i + 1:02d}", contract_from=start,
                                 contract_to=shift_months(start, 36) - timedelta(days=1), townships=served,
                                 services=CATALOGUE[:3 + i % 5],
                                 hourly_rate=Decimal("30.00") + Decimal(i % 3) * Decimal("2.50"))
        providers.append(p)
        for t in served:
            for k in range(3):
                care.add_caregiver(session, actor=actor, provider_id=p.id, area_code=t,
                                   name=f"{GIVER_NAMES[(i * 3 + k) % len(GIVER_NAMES)]}护理员{k + 1}")
    demo_user = session.scalar(select(User).where(User.username == "care"))
    first = providers[0]

    if demo_user is not None:
        giver = session.scalar(select(Caregiver).where(Caregiver.provider_id == first.id,
                                                       Caregiver.area_code == township).order_by(Caregiver.id))
        if giver is not None:
            giver.user_id = demo_user.id
            giver.name = demo_user.full_name.split()[-1] if demo_user.full_name else "陈照料"
    by_town = {t: p for p in providers for t in p.townships}
    people = _dispersed(session, region)
    basic = level_params(region, today)
    for n, (pid, hh, area, hukou, unable) in enumerate(people):
        enr = session.scalar(select(Enrollment).where(Enrollment.person_id == pid,
                                                      Enrollment.program == "extreme_poverty",
                                                      Enrollment.status.in_(("active", "gradual_exit"))))
        if enr is None:  # persons supported before the platform: their enrollment is carried over
            amount = basic.basic_urban if hukou == "urban" else basic.basic_rural
            enr = Enrollment(household_id=hh, person_id=pid, area_code=area, program="extreme_poverty",
                             status="active", monthly_amount=Decimal(str(amount or 0)), level="",
                             start_month=start, version=1)
            session.add(enr)
            session.flush()
        items = {k: i >= unable for i, k in enumerate(ITEMS)}
        assessed = max(enr.start_month, start + timedelta(days=rng.randint(3, 20)) if n % 9 else start)
        care.record_assessment(session, actor=actor, person_id=pid, assessed_on=assessed, items=items,
                               assessor="乡镇经办人（演示）", evidence="入户查看（演示数据）", trigger=Trigger.INITIAL)
        provider = by_town.get(area[:9])
        lat = CENTRE[0] + rng.uniform(-0.2, 0.2) if n % 20 else None  # every 20th home has no coordinates yet
        lon = CENTRE[1] + rng.uniform(-0.2, 0.2) if n % 20 else None
        care.enroll_recipient(session, actor=actor, person_id=pid, provider_id=provider.id if provider else None,
                              latitude=lat, longitude=lon, coords_source="synthetic")
    session.flush()
    care.raise_yearly_reviews(session, actor=actor, today=today)
    # Today's visits for the demo caregiver, before the plan fills the month.
    if demo_user is not None:
        mine = session.scalar(select(Caregiver).where(Caregiver.user_id == demo_user.id))
        assigned = [pid for pid, _, area, _, _ in people if area.startswith(township)][:3]
        for k, pid in enumerate(assigned):
            if mine is None:
                break
            visits.schedule_visit(session, actor=actor, person_id=pid, caregiver_id=mine.id, service=first.services[0],
                                  start=local_time(today, 9 + 2 * k), end=local_time(today, 10 + 2 * k))
    visits.plan_month(session, actor=actor, month=last_month)
    visits.plan_month(session, actor=actor, month=this_month)
    _play(session, today=today, rules_area=region)
    visits.mark_missed(session, actor=actor, today=today)
    settlement.settle_month(session, actor=actor, month=last_month, today=today)
    for pid, *_ in people[:12]:
        r = rng.random()
        care.record_feedback(session, actor=actor, person_id=pid, kind="return_visit", today=today,
                             content="电话回访：服务准时，态度良好" if r > 0.2 else "电话回访：希望增加助浴",
                             satisfaction=5 if r > 0.5 else 4 if r > 0.2 else 3)
    if people:
        care.record_feedback(session, actor=actor, person_id=people[0][0], kind="complaint", today=today,
                             content="护理员迟到半小时（演示）")


def _play(session: Session, *, today: date, rules_area: str) -> None:
    """Synthetic check-ins and check-outs for the planned visits before today: most on time at the home,
    some short, some far from the home, some never made; verified by the same rule as a real visit."""
    from doudi.care.models import CareRecipient

    past = read_frame(session, select(CareVisit.id, CareVisit.person_id, CareVisit.planned_start,
                                      CareVisit.planned_end, CareVisit.version, CareRecipient.latitude,
                                      CareRecipient.longitude)
                      .join(CareRecipient, CareRecipient.person_id == CareVisit.person_id)
                      .where(CareVisit.status == VisitStatus.SCHEDULED, CareVisit.visit_date < today))
    if past.is_empty():
        return
    n = past.height
    rng = np.random.default_rng(7)
    fate = rng.random(n)
    late = rng.integers(-5, 15, n)
    short = np.where(fate < 0.06, rng.integers(70, 100, n), rng.integers(0, 8, n))  # minutes cut from the plan
    far = np.where((fate >= 0.06) & (fate < 0.10), 0.01, 0.0005)  # degrees: ~1 km versus ~50 m
    shift_in, shift_out = pl.lit(pl.Series(late)), pl.lit(pl.Series(late - short))
    frame = past.with_columns(
        check_in_at=pl.col("planned_start").dt.replace_time_zone("UTC") + pl.duration(minutes=shift_in),
        check_out_at=pl.col("planned_end").dt.replace_time_zone("UTC") + pl.duration(minutes=shift_out),
        in_lat=pl.col("latitude") + pl.Series(far * rng.random(n)), in_lon=pl.col("longitude"),
        out_lat=pl.col("latitude"), out_lon=pl.col("longitude") + pl.Series(far * rng.random(n)),
        home_lat=pl.col("latitude"), home_lon=pl.col("longitude"), missed=pl.Series(fate > 0.97),
    ).with_columns(  # a home without coordinates: the caregiver's phone still reports a place
        in_lat=pl.col("in_lat").fill_null(CENTRE[0]), in_lon=pl.col("in_lon").fill_null(CENTRE[1]),
        out_lat=pl.col("out_lat").fill_null(CENTRE[0]), out_lon=pl.col("out_lon").fill_null(CENTRE[1]))
    checked = verify(frame, care_rules(rules_area, today))
    done = checked.filter(~pl.col("missed"))
    out = done.select(
        "id", "version", "check_in_at", "check_out_at", "in_lat", "in_lon", "out_lat", "out_lon", "minutes",
        "counted_minutes", "distance_m", "status",
        "flags", services_done=pl.lit("[]"),
        check_in_key=pl.format("demo-in-{}", pl.col("id")), check_out_key=pl.format("demo-out-{}", pl.col("id")))
    write_frame(session, CareVisit, out, mode="update", match=["id"])
    flagged = out.filter(pl.col("status") == VisitStatus.FLAGGED.value)["id"].to_list()
    # Supervisors have already decided half of last month's flagged visits.
    actor = system_actor(name="演示数据")
    for k, vid in enumerate(flagged[: len(flagged) // 2]):
        v = session.get(CareVisit, vid)
        if v is None or v.visit_date >= month_start(today):
            continue
        visits.review_visit(session, actor=actor, visit_id=vid, accept=k % 3 != 0,
                            reason="电话核实服务属实" if k % 3 else "回访对象称当日未上门")
    audit.record(session, actor=actor, action="care.demo_visits", object_type="care_visit",
                 extra={"visits": out.height, "missed": n - out.height, "at": datetime.now(UTC).isoformat()})
