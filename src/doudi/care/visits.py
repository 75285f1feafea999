"""Visits: scheduling within the entitled hours without double-booking, the monthly plan, check-in/out with
electronic visit verification, supervisor review, no-shows. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from doudi.audit import service as audit
from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import under
from doudi.care.models import (
    BOOKED_STATUSES,
    PAID_STATUSES,
    Caregiver,
    CareProvider,
    CareRecipient,
    CareSettlement,
    CareVisit,
    VisitStatus,
)
from doudi.care.rules import FLAG_LABELS, LOCAL, care_rules, local_date, local_time, utc, verify
from doudi.care.service import (
    SERVICES,
    entitled_hours,
    entitlement_frame,
    expire_rows,
    get_recipient,
    provider_scope,
)
from doudi.core import clock
from doudi.core.dates import month_start, next_month
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db import versions
from doudi.db.frames import read_frame, write_frame

STATUS_LABELS = {
    VisitStatus.SCHEDULED: "已排班", VisitStatus.IN_PROGRESS: "服务中", VisitStatus.VERIFIED: "已核验",
    VisitStatus.FLAGGED: "待人工核实", VisitStatus.ACCEPTED: "核实通过", VisitStatus.REJECTED: "核实不通过",
    VisitStatus.MISSED: "未上门", VisitStatus.CANCELLED: "已取消",
}
PLAN_SLOTS = ((8, 0), (10, 30), (14, 0), (16, 30))  # local start times a caregiver can be booked at in a day


def get_visit(session: Session, *, actor: Actor, visit_id: int) -> CareVisit:
    """One visit inside the actor's area and, for a provider's account, of that provider."""
    actor.require("care.read")
    v = session.get(CareVisit, visit_id)
    if v is None or not actor.sees(v.area_code) or not actor.sees_org(OrgKind.PROVIDER, v.provider_key):
        raise NotFound(f"上门服务 {visit_id}")
    return v


def _minutes(start: datetime, end: datetime) -> int:
    return int((utc(end) - utc(start)).total_seconds() // 60)


def _booked_minutes(session: Session, person_id: int, month: date, exclude: int | None) -> int:
    start, end = local_time(month, 0), local_time(next_month(month), 0)
    stmt = select(CareVisit.planned_start, CareVisit.planned_end).where(
        CareVisit.person_id == person_id, CareVisit.status.in_(BOOKED_STATUSES),
        CareVisit.planned_start >= start, CareVisit.planned_start < end)
    if exclude is not None:
        stmt = stmt.where(CareVisit.id != exclude)
    return sum(_minutes(s, e) for s, e in session.execute(stmt))


def _conflict(session: Session, caregiver_id: int, start: datetime, end: datetime,
              exclude: int | None) -> CareVisit | None:
    stmt = select(CareVisit).where(CareVisit.caregiver_id == caregiver_id, CareVisit.status.in_(BOOKED_STATUSES),
                                   CareVisit.planned_start < end, CareVisit.planned_end > start)
    if exclude is not None:
        stmt = stmt.where(CareVisit.id != exclude)
    return session.scalars(stmt.order_by(CareVisit.planned_start)).first()


def _check_booking(session: Session, *, recipient: CareRecipient, caregiver: Caregiver, start: datetime,
                   end: datetime, exclude: int | None) -> None:
    """Refuse a booking beyond the entitled hours or overlapping the caregiver's other visits."""
    if end <= start:
        raise ValidationFailed([FieldError("end", "结束时间须晚于开始时间")])
    if local_date(start) != local_date(end - timedelta(seconds=1)):
        raise ValidationFailed([FieldError("end", "一次上门服务须在同一天内开始和结束")])
    month = month_start(local_date(start))
    entitled = int(entitled_hours(session, person_id=recipient.person_id, month=month) * 60)
    if entitled == 0:
        raise ValidationFailed([FieldError("start", f"该服务对象 {month:%Y年%m月} 没有核定的居家照料时数")])
    booked = _booked_minutes(session, recipient.person_id, month, exclude)
    wanted = _minutes(start, end)
    if booked + wanted > entitled:
        raise ValidationFailed([FieldError(
            "end", f"超出核定时数：{month:%Y年%m月} 核定 {entitled / 60:g} 小时，已排 {booked / 60:g} 小时，"
                   f"本次 {wanted / 60:g} 小时")])
    clash = _conflict(session, caregiver.id, start, end, exclude)
    if clash is not None:
        s = utc(clash.planned_start).astimezone(LOCAL)
        raise Conflict(f"护理员 {caregiver.name} 在该时段已有上门服务（#{clash.id}，"
                       f"{local_date(clash.planned_start):%m-%d} {s:%H:%M} 起），不能重复排班")


def schedule_visit(session: Session, *, actor: Actor, person_id: int, caregiver_id: int, service: str,
                   start: datetime, end: datetime) -> CareVisit:
    """Book one visit: the person assigned to the caregiver's provider, within the entitled hours, no overlap."""
    actor.require("care.schedule")
    recipient = get_recipient(session, actor=actor, person_id=person_id)
    caregiver = session.get(Caregiver, caregiver_id)
    if caregiver is None or not caregiver.active:
        raise ValidationFailed([FieldError("caregiver_id", f"护理员 {caregiver_id} 不存在或已停用")])
    provider = session.get(CareProvider, caregiver.provider_id)
    assert provider is not None
    if not actor.sees_org(OrgKind.PROVIDER, provider.key):
        raise ValidationFailed([FieldError("caregiver_id", "该护理员不属于您的服务机构")])
    if recipient.provider_id is None:
        raise ValidationFailed([FieldError("person_id", "该服务对象尚未分配服务机构")])
    if recipient.provider_id != caregiver.provider_id:
        raise ValidationFailed([FieldError("caregiver_id", "该护理员所属机构不是该服务对象的服务机构")])
    if service not in provider.services:
        label = SERVICES.get(service, service)
        raise ValidationFailed([FieldError("service", f"服务项目 {label} 不在该机构的服务目录中")])
    start, end = utc(start), utc(end)
    day = local_date(start)
    if not provider.contract_from <= day <= provider.contract_to:
        raise ValidationFailed([FieldError("start", f"{day:%Y-%m-%d} 不在 {provider.name} 的合同期内")])
    # Claiming both rows serialises concurrent bookings of the same caregiver or the same person.
    versions.claim(session, caregiver, label="护理员排班")
    versions.claim(session, recipient, label="服务对象排班")
    _check_booking(session, recipient=recipient, caregiver=caregiver, start=start, end=end, exclude=None)
    v = CareVisit(person_id=person_id, area_code=recipient.area_code, provider_id=provider.id,
                  provider_key=provider.key, caregiver_id=caregiver.id, service=service, visit_date=day,
                  planned_start=start, planned_end=end, planned_minutes=_minutes(start, end),
                  status=VisitStatus.SCHEDULED, version=1)
    session.add(v)
    session.flush()
    audit.record(session, actor=actor, action="care.visit_schedule", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, after={"person_id": person_id, "caregiver_id": caregiver.id,
                                               "service": service, "start": start.isoformat(), "end": end.isoformat()})
    return v


def reschedule_visit(session: Session, *, actor: Actor, visit_id: int, start: datetime, end: datetime, reason: str,
                     version: int | None = None) -> CareVisit:
    """Move a scheduled visit, with a reason; the ceiling and conflicts are checked again."""
    actor.require("care.schedule")
    v = get_visit(session, actor=actor, visit_id=visit_id)
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "改期须说明原因")])
    if v.status != VisitStatus.SCHEDULED:
        raise Conflict(f"上门服务 #{v.id} 当前为“{STATUS_LABELS[VisitStatus(v.status)]}”，不能改期")
    versions.claim(session, v, version, label="上门服务")
    recipient = get_recipient(session, actor=actor, person_id=v.person_id)
    caregiver = session.get(Caregiver, v.caregiver_id)
    assert caregiver is not None
    versions.claim(session, caregiver, label="护理员排班")
    start, end = utc(start), utc(end)
    _check_booking(session, recipient=recipient, caregiver=caregiver, start=start, end=end, exclude=v.id)
    before = {"start": utc(v.planned_start).isoformat(), "end": utc(v.planned_end).isoformat()}
    v.planned_start, v.planned_end, v.visit_date, v.reason = start, end, local_date(start), reason.strip()
    v.planned_minutes = _minutes(start, end)
    audit.record(session, actor=actor, action="care.visit_reschedule", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, before=before,
                 after={"start": start.isoformat(), "end": end.isoformat()}, extra={"reason": v.reason})
    return v


def cancel_visit(session: Session, *, actor: Actor, visit_id: int, reason: str,
                 version: int | None = None) -> CareVisit:
    """Cancel a scheduled visit, with a reason (its hours become free again)."""
    actor.require("care.schedule")
    v = get_visit(session, actor=actor, visit_id=visit_id)
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "取消须说明原因")])
    if v.status != VisitStatus.SCHEDULED:
        raise Conflict(f"上门服务 #{v.id} 当前为“{STATUS_LABELS[VisitStatus(v.status)]}”，不能取消")
    versions.claim(session, v, version, label="上门服务")
    v.status, v.reason = VisitStatus.CANCELLED, reason.strip()
    audit.record(session, actor=actor, action="care.visit_cancel", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, before={"status": "scheduled"}, after={"status": v.status},
                 extra={"reason": v.reason})
    return v


def own_caregiver(session: Session, actor: Actor, v: CareVisit) -> None:
    """A caregiver's own account may only record its own visits; a provider's coordinator account (no
    caregiver record) records any of the provider's."""
    if actor.user_id is None:
        return
    mine = session.scalar(select(Caregiver).where(Caregiver.user_id == actor.user_id))
    if mine is not None and mine.id != v.caregiver_id:
        raise ValidationFailed([FieldError("visit_id", "这不是您本人的上门服务，不能签到或签退")])


def _recordable(session: Session, actor: Actor, visit_id: int, key_column: Any, key: str) -> tuple[CareVisit, bool]:
    """`get_visit` and `own_caregiver` for the phone's check-in/out, and whether another visit already took the
    idempotency key: one round trip when the account is the visit's own caregiver (the usual case)."""
    actor.require("care.read")
    other = aliased(CareVisit)
    taken = select(other.id).where(getattr(other, key_column.key) == key, other.id != visit_id).exists()
    row = session.execute(select(CareVisit, Caregiver.user_id, taken)
                          .join(Caregiver, Caregiver.id == CareVisit.caregiver_id)
                          .where(CareVisit.id == visit_id)).first()
    if row is None or not actor.sees(row[0].area_code) or not actor.sees_org(OrgKind.PROVIDER, row[0].provider_key):
        raise NotFound(f"上门服务 {visit_id}")
    if actor.user_id is not None and row[1] != actor.user_id:
        own_caregiver(session, actor, row[0])
    return row[0], bool(row[2])


def _valid_point(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise ValidationFailed([FieldError("latitude", "定位须同时包含纬度和经度")])
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed([FieldError("latitude", "定位经纬度超出有效范围")])


def check_in(session: Session, *, actor: Actor, visit_id: int, at: datetime, latitude: float | None,
             longitude: float | None, key: str) -> CareVisit:
    """Start a visit at a time and place. Sent twice with the same idempotency key, it is recorded once."""
    actor.require("care.record")
    if not key or len(key) > 64:
        raise ValidationFailed([FieldError("key", "缺少幂等键（每次提交的唯一编号，最多 64 位）")])
    v, taken = _recordable(session, actor, visit_id, CareVisit.check_in_key, key)
    if v.check_in_key == key:
        return v  # the same submission again (a flaky network): already recorded
    if taken:
        raise Conflict("该幂等键已用于另一次签到")
    _valid_point(latitude, longitude)
    if v.status != VisitStatus.SCHEDULED:
        raise Conflict(f"上门服务 #{v.id} 当前为“{STATUS_LABELS[VisitStatus(v.status)]}”，不能签到")
    at = utc(at)
    if local_date(at) != v.visit_date:
        raise ValidationFailed([FieldError(
            "at", f"签到日期 {local_date(at):%Y-%m-%d} 与排班日期 {v.visit_date:%Y-%m-%d} 不一致")])
    versions.claim(session, v, label="上门服务")
    v.status, v.check_in_at, v.in_lat, v.in_lon, v.check_in_key = VisitStatus.IN_PROGRESS, at, latitude, longitude, key
    session.flush()  # the visit's row before the audit chain's head: the head's lock is held for less
    audit.record(session, actor=actor, action="care.visit_check_in", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code,
                 after={"status": v.status, "at": at.isoformat(), "located": latitude is not None})
    return v


def check_out(session: Session, *, actor: Actor, visit_id: int, at: datetime, latitude: float | None,
              longitude: float | None, key: str, services_done: list[str], note: str = "",
              photo: str | None = None) -> CareVisit:
    """End a visit; it is verified when its times and places lie within the pack's tolerances, otherwise
    flagged for a supervisor. Sent twice with the same idempotency key, it is recorded once."""
    actor.require("care.record")
    if not key or len(key) > 64:
        raise ValidationFailed([FieldError("key", "缺少幂等键（每次提交的唯一编号，最多 64 位）")])
    v, taken = _recordable(session, actor, visit_id, CareVisit.check_out_key, key)
    if v.check_out_key == key:
        return v
    if taken:
        raise Conflict("该幂等键已用于另一次签退")
    _valid_point(latitude, longitude)
    if v.status != VisitStatus.IN_PROGRESS or v.check_in_at is None:
        raise Conflict(f"上门服务 #{v.id} 当前为“{STATUS_LABELS[VisitStatus(v.status)]}”，须先签到再签退")
    at = utc(at)
    if at <= utc(v.check_in_at):
        raise ValidationFailed([FieldError("at", "签退时间不能早于或等于签到时间")])
    if month_start(v.visit_date) < month_start(clock.today()):
        # A late check-out of a past month waits for, or is stopped by, that month's settlement: a settled
        # month is frozen, so its paid visits stay exactly the ones the settlement counted.
        provider = session.get(CareProvider, v.provider_id)
        assert provider is not None
        versions.claim(session, provider, label="服务机构")
        if _settled(session, v) is not None:
            raise Conflict(f"上门服务 #{v.id} 所在月份已结算，不能再签退")
    # The provider's catalogue and the home's coordinates in one round trip.
    catalogue, home_lat, home_lon = session.execute(
        select(CareProvider.services, CareRecipient.latitude, CareRecipient.longitude).select_from(CareProvider)
        .outerjoin(CareRecipient, CareRecipient.person_id == v.person_id)
        .where(CareProvider.id == v.provider_id)).one()
    unknown = [s for s in services_done if s not in catalogue]
    if unknown:
        raise ValidationFailed([FieldError("services_done", f"服务项目不在机构服务目录中：{', '.join(unknown)}")])
    versions.claim(session, v, label="上门服务")
    v.check_out_at, v.out_lat, v.out_lon, v.check_out_key = at, latitude, longitude, key
    v.services_done, v.note, v.photo = services_done or [v.service], note.strip(), photo
    _apply_verification(v, home_lat, home_lon)
    session.flush()  # the visit's row before the audit chain's head: the head's lock is held for less
    audit.record(session, actor=actor, action="care.visit_check_out", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, after={"status": v.status, "minutes": v.minutes, "distance_m": v.distance_m,
                                               "flags": v.flags, "at": at.isoformat()})
    return v


def _apply_verification(v: CareVisit, home_lat: float | None, home_lon: float | None) -> None:
    assert v.check_in_at is not None and v.check_out_at is not None
    frame = pl.DataFrame({
        "check_in_at": [utc(v.check_in_at)], "check_out_at": [utc(v.check_out_at)],
        "in_lat": [v.in_lat], "in_lon": [v.in_lon], "out_lat": [v.out_lat], "out_lon": [v.out_lon],
        "home_lat": [home_lat], "home_lon": [home_lon],
    }, schema={"check_in_at": pl.Datetime("us", "UTC"), "check_out_at": pl.Datetime("us", "UTC"),
               "in_lat": pl.Float64, "in_lon": pl.Float64, "out_lat": pl.Float64, "out_lon": pl.Float64,
               "home_lat": pl.Float64, "home_lon": pl.Float64})
    row = verify(frame, care_rules(v.area_code, v.visit_date)).row(0, named=True)
    v.minutes, v.distance_m, v.counted_minutes = row["minutes"], row["distance_m"], row["counted_minutes"]
    v.flags, v.status = list(row["flags"]), row["status"]


def review_visit(session: Session, *, actor: Actor, visit_id: int, accept: bool, reason: str,
                 version: int | None = None) -> CareVisit:
    """A supervisor accepts or rejects a flagged visit, with a reason. Accepting a visit to a home without
    coordinates records the visit's check-in place as the home's (the first supervised visit)."""
    actor.require("care.supervise")
    v = get_visit(session, actor=actor, visit_id=visit_id)
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "须填写核实意见")])
    if _settled(session, v) is not None:
        raise Conflict(f"上门服务 #{v.id} 所在月份已结算，不能再更改")
    if v.status != VisitStatus.FLAGGED:
        raise Conflict(f"上门服务 #{v.id} 当前为“{STATUS_LABELS[VisitStatus(v.status)]}”，无需核实")
    versions.claim(session, v, version, label="上门服务")
    provider = session.get(CareProvider, v.provider_id)
    assert provider is not None
    versions.claim(session, provider, label="服务机构")  # waits for, or stops, a settlement of the same provider
    v.status = VisitStatus.ACCEPTED if accept else VisitStatus.REJECTED
    v.reason, v.reviewed_by = reason.strip(), actor.username
    if accept and "no_home_coordinates" in v.flags and v.in_lat is not None:
        recipient = session.scalar(select(CareRecipient).where(CareRecipient.person_id == v.person_id))
        if recipient is not None and recipient.latitude is None:
            versions.claim(session, recipient, label="服务对象")
            recipient.latitude, recipient.longitude, recipient.coords_source = v.in_lat, v.in_lon, "supervised_visit"
    audit.record(session, actor=actor, action="care.visit_review", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, before={"status": "flagged"}, after={"status": v.status},
                 extra={"reason": v.reason})
    return v


def _settled(session: Session, v: CareVisit) -> int | None:
    return session.scalar(select(CareSettlement.id).where(CareSettlement.provider_id == v.provider_id,
                                                          CareSettlement.month == month_start(v.visit_date)))


def mark_missed(session: Session, *, actor: Actor, today: date) -> int:
    """Scheduled visits whose day has passed without a check-in are no-shows (未上门)."""
    stale = list(session.scalars(select(CareVisit).where(CareVisit.status == VisitStatus.SCHEDULED,
                                                         CareVisit.visit_date < today)))
    if not stale:
        return 0
    ids = [v.id for v in stale]
    session.execute(update(CareVisit).where(CareVisit.id.in_(ids), CareVisit.status == VisitStatus.SCHEDULED)
                    .values(status=VisitStatus.MISSED, reason="到期未签到", version=CareVisit.version + 1)
                    .execution_options(synchronize_session=False))
    expire_rows(session, CareVisit, ids)
    audit.record(session, actor=actor, action="care.visit_missed", object_type="care_visit",
                 object_id=",".join(map(str, ids[:50])), extra={"count": len(ids), "before": today.isoformat()})
    return len(ids)


@dataclass(frozen=True)
class VisitFilter:
    """The visit ledger's filters."""

    month: date | None = None
    status: str = ""
    provider_id: int | None = None
    area: str = ""
    q: str = ""
    day: date | None = None
    caregiver_id: int | None = None


def visit_query(actor: Actor, f: VisitFilter) -> Any:
    """The scoped, filtered visit query (rows: visit, person name, caregiver name, provider name)."""
    from doudi.registry.models import Person

    stmt = (select(CareVisit, Person.name, Caregiver.name, CareProvider.name)
            .join(Person, Person.id == CareVisit.person_id)
            .join(Caregiver, Caregiver.id == CareVisit.caregiver_id)
            .join(CareProvider, CareProvider.id == CareVisit.provider_id))
    stmt = provider_scope(stmt, actor, area=CareVisit.area_code, org=CareVisit.provider_key)
    if f.month is not None:
        stmt = stmt.where(CareVisit.visit_date >= f.month, CareVisit.visit_date < next_month(f.month))
    if f.day is not None:
        stmt = stmt.where(CareVisit.visit_date == f.day)
    if f.status:
        stmt = stmt.where(CareVisit.status == f.status)
    if f.provider_id:
        stmt = stmt.where(CareVisit.provider_id == f.provider_id)
    if f.caregiver_id:
        stmt = stmt.where(CareVisit.caregiver_id == f.caregiver_id)
    if f.area:
        stmt = under(stmt, CareVisit.area_code, f.area)
    if f.q:
        stmt = stmt.where(Person.name.contains(f.q))
    return stmt.order_by(CareVisit.visit_date.desc(), CareVisit.planned_start, CareVisit.id)


def list_visits(session: Session, *, actor: Actor, f: VisitFilter, page: int = 1,
                per_page: int = 50) -> tuple[list[tuple[CareVisit, str, str, str]], int]:
    """A page of the visit ledger and the total."""
    actor.require("care.read")
    stmt = visit_query(actor, f)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows], total


def settled_months(session: Session) -> set[tuple[int, date]]:
    """(provider, month) of every settlement: a settled month's verified and accepted visits are the paid ones."""
    return {(p, m) for p, m in session.execute(select(CareSettlement.provider_id, CareSettlement.month))}


def is_paid(v: CareVisit, settled: set[tuple[int, date]]) -> bool:
    """Whether a settlement paid the visit (its month is settled, frozen since, and the visit counted)."""
    return v.status in PAID_STATUSES and (v.provider_id, month_start(v.visit_date)) in settled


def my_caregiver(session: Session, *, actor: Actor) -> Caregiver | None:
    """The caregiver record of the signed-in account, if it is one."""
    if actor.user_id is None:
        return None
    return session.scalar(select(Caregiver).where(Caregiver.user_id == actor.user_id))


def flag_text(flags: list[str]) -> str:
    """The flags of a visit in Chinese."""
    return "；".join(FLAG_LABELS.get(f, f) for f in flags)


def plan_month(session: Session, *, actor: Actor, month: date, provider_id: int | None = None) -> int:
    """The monthly plan: for every assigned recipient with an entitlement and nothing booked yet that month,
    visits of the pack's default length on working days, up to the entitled hours, each given to a caregiver
    of the person's provider at a free slot (nobody is double-booked). Returns the visits created."""
    actor.require("care.schedule")
    from doudi.policy.calendar import calendar_for

    month = month_start(month)
    rec_stmt = select(CareRecipient.person_id, CareRecipient.area_code, CareRecipient.provider_id,
                      CareRecipient.provider_key).where(CareRecipient.provider_id.is_not(None))
    rec_stmt = provider_scope(rec_stmt, actor, area=CareRecipient.area_code, org=CareRecipient.provider_key)
    if provider_id:
        rec_stmt = rec_stmt.where(CareRecipient.provider_id == provider_id)
    recs = read_frame(session, rec_stmt)
    if recs.is_empty():
        return 0
    ent = entitlement_frame(session, month=month, person_ids=recs["person_id"].to_list())
    start, end = local_time(month, 0), local_time(next_month(month), 0)
    booked = read_frame(session, select(CareVisit.person_id, CareVisit.caregiver_id, CareVisit.planned_start,
                                        CareVisit.planned_end)
                        .where(CareVisit.status.in_(BOOKED_STATUSES), CareVisit.planned_start >= start,
                               CareVisit.planned_start < end))
    already = set(booked["person_id"].to_list())
    todo = (recs.join(ent.select("person_id", "entitled_minutes"), on="person_id")
            .filter(~pl.col("person_id").is_in(list(already))).sort("provider_id", "area_code", "person_id"))
    if todo.is_empty():
        return 0
    givers = read_frame(session, select(Caregiver.id, Caregiver.provider_id, Caregiver.area_code)
                        .where(Caregiver.active.is_(True)).order_by(Caregiver.id))
    prov = {p.id: p for p in session.scalars(select(CareProvider).where(
        CareProvider.id.in_(todo["provider_id"].unique().to_list())))}
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for g, s0, e0 in booked.select("caregiver_id", "planned_start", "planned_end").iter_rows():
        busy.setdefault(g, []).append((utc(s0), utc(e0)))
    length = care_rules(str(todo["area_code"][0]), month).plan_visit_minutes
    cal = calendar_for(str(todo["area_code"][0]))
    days = [d for d in (month + timedelta(days=i) for i in range((next_month(month) - month).days))
            if cal.is_workday(d)]
    rows: list[dict[str, object]] = []
    cursor: dict[int, int] = {}  # provider → round-robin position over its caregivers
    for r in todo.iter_rows(named=True):
        p = prov[r["provider_id"]]
        pool = givers.filter(pl.col("provider_id") == p.id)
        ids = pool.filter(pl.col("area_code") == r["area_code"][:9])["id"].to_list() or pool["id"].to_list()
        usable = [d for d in days if p.contract_from <= d <= p.contract_to]
        n = min(r["entitled_minutes"] // length, len(usable))
        if not ids or n == 0:
            continue
        service = p.services[0] if p.services else "cleaning"
        step = len(usable) / n  # spread the visits over the month
        for k in range(n):
            day = usable[(int(k * step) + r["person_id"] % max(1, int(step))) % len(usable)]
            placed = _place(busy, ids, cursor, p.id, day, length)
            if placed is None:
                continue
            g, s0 = placed
            rows.append({"person_id": r["person_id"], "area_code": r["area_code"], "provider_id": p.id,
                         "provider_key": p.key, "caregiver_id": g, "service": service, "visit_date": day,
                         "planned_start": s0, "planned_end": s0 + timedelta(minutes=length),
                         "planned_minutes": length,
                         "status": VisitStatus.SCHEDULED.value})
    if not rows:
        return 0
    frame = pl.DataFrame(rows, schema={"person_id": pl.Int64, "area_code": pl.String, "provider_id": pl.Int64,
                                       "provider_key": pl.String, "caregiver_id": pl.Int64, "service": pl.String,
                                       "visit_date": pl.Date, "planned_start": pl.Datetime("us", "UTC"),
                                       "planned_end": pl.Datetime("us", "UTC"), "planned_minutes": pl.Int64,
                                       "status": pl.String})
    write_frame(session, CareVisit, frame.with_columns(flags=pl.lit("[]"), services_done=pl.lit("[]")))
    audit.record(session, actor=actor, action="care.plan", object_type="care_plan", object_id=f"{month:%Y-%m}",
                 extra={"visits": len(rows), "persons": todo.height, "provider_id": provider_id})
    return len(rows)


def _place(busy: dict[int, list[tuple[datetime, datetime]]], ids: list[int], cursor: dict[int, int],
           provider_id: int, day: date, length: int) -> tuple[int, datetime] | None:
    """The first caregiver (round robin) and slot of `day` free of every booking they have."""
    for slot in PLAN_SLOTS:
        s0 = local_time(day, *slot)
        e0 = s0 + timedelta(minutes=length)
        for j in range(len(ids)):
            g = ids[(cursor.get(provider_id, 0) + j) % len(ids)]
            if any(s < e0 and e > s0 for s, e in busy.get(g, [])):
                continue
            busy.setdefault(g, []).append((s0, e0))
            cursor[provider_id] = cursor.get(provider_id, 0) + j + 1
            return g, s0
    return None
