"""Assessments, entitlements, providers and recipients: keyword-only services that never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor, OrgKind
from doudi.auth.scope import get_in_area, in_scope, in_subtree, under
from doudi.care.models import (
    CareAssessment,
    CareEntitlement,
    CareFeedback,
    Caregiver,
    CareProvider,
    CareRecipient,
    EntitlementStatus,
    FeedbackKind,
    FeedbackStatus,
    Level,
    ReassessmentRequest,
    Trigger,
)
from doudi.care.notices import level_notice
from doudi.care.rules import ITEM_LABELS, ITEMS, LEVEL_LABELS, care_rules, level_params, levels
from doudi.cases.models import Enrollment, Notice
from doudi.core.dates import month_start, next_month, shift_months
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db import versions
from doudi.db.frames import read_frame, read_frame_in
from doudi.policy.calendar import calendar_for
from doudi.registry.models import Membership, Person

PROGRAM = "extreme_poverty"
LIVE_ENROLLMENT = ("active", "gradual_exit")
TRIGGER_LABELS = {Trigger.INITIAL: "首次评估", Trigger.MONITORING: "动态监测（住院、残疾变化）",
                  Trigger.CAREGIVER: "护理员报告", Trigger.YEARLY: "年度复核"}
SERVICES = {"meal": "助餐", "cleaning": "助洁", "bathing": "助浴", "medical": "助医", "errands": "代购代办",
            "company": "精神慰藉", "rehab": "康复护理"}


def provider_scope(stmt: Any, actor: Actor, *, area: Any, org: Any) -> Any:
    """A care list limited to the actor's area and, for a provider's account, to its own provider."""
    return in_scope(stmt, actor, area=area, org=(OrgKind.PROVIDER, org))


# ---------------------------------------------------------------- assessments and entitlements


@dataclass(frozen=True)
class AssessmentResult:
    """A recorded assessment, the entitlement it changed (if any), and the notice text of a level change."""

    assessment: CareAssessment
    entitlement: CareEntitlement | None
    notice: str
    document: Notice | None = None  # the printable notice of a level change


def _dispersed_enrollment(session: Session, person_id: int, month: date) -> Enrollment | None:
    """The person's live 特困 enrollment covering `month`, if the person is dispersed (分散供养) and alive."""
    person = session.get(Person, person_id)
    if person is None or person.support_mode != "dispersed" or (
            person.date_of_death is not None and person.date_of_death < month):
        return None
    stmt = (select(Enrollment).where(Enrollment.person_id == person_id, Enrollment.program == PROGRAM,
                                     Enrollment.status.in_(LIVE_ENROLLMENT), Enrollment.start_month <= month,
                                     or_(Enrollment.end_month.is_(None), Enrollment.end_month > month))
            .order_by(Enrollment.start_month.desc()))
    return session.scalars(stmt).first()


def _person_area(session: Session, person_id: int) -> str | None:
    row = session.execute(
        select(Membership.household_id, Enrollment.area_code)
        .join(Enrollment, Enrollment.person_id == Membership.person_id)
        .where(Membership.person_id == person_id, Membership.valid_to.is_(None), Enrollment.program == PROGRAM)
        .order_by(Enrollment.start_month.desc())).first()
    return None if row is None else str(row[1])


def latest_assessment(session: Session, *, person_id: int) -> CareAssessment | None:
    """The person's most recent assessment."""
    return session.scalars(select(CareAssessment).where(CareAssessment.person_id == person_id)
                           .order_by(CareAssessment.assessed_on.desc(), CareAssessment.id.desc())).first()


def record_assessment(session: Session, *, actor: Actor, person_id: int, assessed_on: date, items: dict[str, bool],
                      assessor: str, evidence: str, trigger: str = Trigger.INITIAL,
                      request_id: int | None = None) -> AssessmentResult:
    """Record the six items; the level and hours come from the pack. A first assessment starts the entitlement
    in its own month (or the enrollment's first month); a change of level takes effect from the next month."""
    actor.require("care.assess")
    errors = [FieldError(k, f"{ITEM_LABELS[k]}：须填写能否达到") for k in ITEMS if k not in items]
    if not assessor.strip():
        errors.append(FieldError("assessor", "须填写评估人"))
    if not evidence.strip():
        errors.append(FieldError("evidence", "须填写评估依据（如入户查看、医疗证明）"))
    if trigger not in set(Trigger):
        errors.append(FieldError("trigger", f"未知评估原因 {trigger!r}"))
    if errors:
        raise ValidationFailed(errors)
    area = _person_area(session, person_id)
    if area is None or not actor.sees(area):
        raise NotFound(f"特困人员 {person_id}")
    enrollment = _dispersed_enrollment(session, person_id, month_start(assessed_on))
    if enrollment is None:
        raise ValidationFailed([FieldError("person_id", "该人员不是在保的分散供养特困人员，不能评估居家照料时数")])
    rules = care_rules(enrollment.area_code, assessed_on)
    row = levels(pl.DataFrame({k: [bool(items[k])] for k in ITEMS}), level_params(enrollment.area_code, assessed_on)
                 ).row(0, named=True)
    if row["hours"] is None:
        raise ValidationFailed([FieldError("hours", "本地参数包未设定居家照料时数，不能核定")])
    previous = latest_assessment(session, person_id=person_id)
    first = previous is None
    effective = max(month_start(assessed_on), enrollment.start_month) if first else next_month(assessed_on)
    a = CareAssessment(
        person_id=person_id, area_code=enrollment.area_code, assessed_on=assessed_on, assessor=assessor.strip(),
        assessor_id=actor.user_id, unable_items=int(row["unable_items"]), level=row["level"],
        hours=Decimal(str(row["hours"])), trigger=trigger, evidence=evidence.strip(), effective_month=effective,
        previous_level=None if previous is None else previous.level,
        next_due_on=shift_months(assessed_on, rules.interval_months), **{k: bool(items[k]) for k in ITEMS})
    session.add(a)
    session.flush()
    old_hours = _active_hours(session, person_id)
    entitlement, notice = _apply_level(session, a, enrollment, previous)
    document = None
    if notice and previous is not None:
        document = level_notice(session, assessment=a, previous=previous, enrollment=enrollment,
                                old_hours=f"{old_hours.normalize():f}" if old_hours is not None else "")
    if request_id is not None:
        req = session.get(ReassessmentRequest, request_id)
        if req is not None and req.person_id == person_id and req.done_assessment_id is None:
            req.done_assessment_id = a.id
    else:  # an assessment answers every open request of the person
        for req in session.scalars(select(ReassessmentRequest).where(
                ReassessmentRequest.person_id == person_id, ReassessmentRequest.done_assessment_id.is_(None))):
            req.done_assessment_id = a.id
    audit.record(session, actor=actor, action="care.assess", object_type="care_assessment", object_id=a.id,
                 area_code=a.area_code, after={"level": a.level, "hours": str(a.hours), "unable_items": a.unable_items,
                                               "effective_month": a.effective_month.isoformat()},
                 extra={"notice": notice, "notice_no": document.number} if document else None)
    return AssessmentResult(a, entitlement, notice, document)


def _active_hours(session: Session, person_id: int) -> Decimal | None:
    hours = session.scalars(select(CareEntitlement.hours).where(
        CareEntitlement.person_id == person_id, CareEntitlement.status == EntitlementStatus.ACTIVE)
        .order_by(CareEntitlement.from_month.desc())).first()
    return None if hours is None else Decimal(hours)


def _apply_level(session: Session, a: CareAssessment, enrollment: Enrollment,
                 previous: CareAssessment | None) -> tuple[CareEntitlement | None, str]:
    current = session.scalars(select(CareEntitlement).where(
        CareEntitlement.person_id == a.person_id, CareEntitlement.status == EntitlementStatus.ACTIVE)
        .order_by(CareEntitlement.from_month.desc())).first()
    if current is not None and current.level == a.level and current.hours == a.hours:
        return None, ""  # same level: the entitlement goes on unchanged
    if current is not None:
        if current.from_month >= a.effective_month:  # not yet started: replace it
            session.delete(current)
            session.flush()
        else:
            current.to_month = a.effective_month
            current.status = EntitlementStatus.ENDED
            current.end_reason = "自理能力等级变更"
    e = CareEntitlement(person_id=a.person_id, enrollment_id=enrollment.id, assessment_id=a.id,
                        area_code=a.area_code, level=a.level, hours=a.hours, from_month=a.effective_month,
                        to_month=enrollment.end_month, status=EntitlementStatus.ACTIVE)
    session.add(e)
    session.flush()
    notice = ""
    if previous is not None and previous.level != a.level:
        notice = (f"生活自理能力由“{LEVEL_LABELS[Level(previous.level)]}”变更为“{LEVEL_LABELS[Level(a.level)]}”，"
                  f"自 {a.effective_month:%Y年%m月} 起居家照料服务时数调整为每月 {a.hours.normalize():f} 小时。")
    return e, notice


def entitled_hours(session: Session, *, person_id: int, month: date) -> Decimal:
    """Hours a month the person is entitled to in `month` (0 when none)."""
    month = month_start(month)
    hours = session.scalar(select(CareEntitlement.hours).where(
        CareEntitlement.person_id == person_id, CareEntitlement.from_month <= month,
        or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month)))
    return Decimal(hours) if hours is not None else Decimal(0)


def entitlement_frame(session: Session, *, month: date, person_ids: list[int] | None = None) -> pl.DataFrame:
    """person_id, area_code, level, entitled_minutes of every entitlement covering `month`."""
    stmt = select(CareEntitlement.person_id, CareEntitlement.area_code, CareEntitlement.level,
                  CareEntitlement.hours).where(
        CareEntitlement.from_month <= month,
        or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month))
    frame = (read_frame(session, stmt) if person_ids is None
             else read_frame_in(session, stmt, CareEntitlement.__table__.c.person_id, person_ids))
    return frame.with_columns(entitled_minutes=(pl.col("hours").cast(pl.Float64) * 60).round(0).cast(pl.Int64))


def end_entitlements(session: Session, *, actor: Actor, today: date) -> int:
    """Close entitlements whose person died, entered an institution (集中供养) or left 特困: from the month
    after the event (or the enrollment's end month). Returns how many were closed."""
    stmt = (select(CareEntitlement, Person, Enrollment)
            .join(Person, Person.id == CareEntitlement.person_id)
            .join(Enrollment, Enrollment.id == CareEntitlement.enrollment_id)
            .where(CareEntitlement.status == EntitlementStatus.ACTIVE))
    closed = 0
    for e, person, enr in session.execute(stmt):
        end: date | None = None
        reason = ""
        if person.date_of_death is not None:
            end, reason = next_month(person.date_of_death), "服务对象死亡"
        elif person.support_mode != "dispersed":
            end, reason = next_month(today), "转为集中供养"
        elif enr.status not in LIVE_ENROLLMENT or enr.end_month is not None:
            end, reason = enr.end_month or next_month(today), "特困供养终止"
        if end is None:
            continue
        end = max(end, next_month(e.from_month)) if end <= e.from_month else end
        e.to_month, e.status, e.end_reason = end, EntitlementStatus.ENDED, reason
        audit.record(session, actor=actor, action="care.entitlement_end", object_type="care_entitlement",
                     object_id=e.id, area_code=e.area_code, after={"to_month": end.isoformat(), "reason": reason})
        closed += 1
    return closed


def request_reassessment(session: Session, *, actor: Actor, person_id: int, trigger: str, reason: str,
                         today: date) -> ReassessmentRequest:
    """Raise a re-assessment (monitoring, a caregiver's report, the yearly review), due within the pack's
    working days (特困人员认定办法 Art. 23); an open request for the person is reused."""
    if trigger not in set(Trigger) or trigger == Trigger.INITIAL:
        raise ValidationFailed([FieldError("trigger", "复核原因须为动态监测、护理员报告或年度复核")])
    # A caregiver reports what they saw; monitoring and the yearly review are the assessors' own.
    actor.require("care.report" if trigger == Trigger.CAREGIVER and not actor.can("care.assess") else "care.assess")
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "须说明复核原因")])
    a = latest_assessment(session, person_id=person_id)
    if a is None or not actor.sees(a.area_code):
        raise NotFound(f"照料对象 {person_id}")
    if trigger == Trigger.CAREGIVER:
        recipient = session.scalar(select(CareRecipient).where(CareRecipient.person_id == person_id))
        if recipient is None or not actor.sees_org(OrgKind.PROVIDER, recipient.provider_key):
            raise NotFound(f"照料对象 {person_id}")
    open_req = session.scalar(select(ReassessmentRequest).where(
        ReassessmentRequest.person_id == person_id, ReassessmentRequest.done_assessment_id.is_(None)))
    if open_req is not None:
        return open_req
    rules = care_rules(a.area_code, today)
    due = calendar_for(a.area_code).add_workdays(today, rules.reassess_workdays)
    req = ReassessmentRequest(person_id=person_id, area_code=a.area_code, trigger=trigger, reason=reason.strip(),
                              raised_on=today, due_on=due, raised_by=actor.username)
    session.add(req)
    session.flush()
    audit.record(session, actor=actor, action="care.reassessment_request", object_type="care_reassessment",
                 object_id=req.id, area_code=req.area_code,
                 after={"trigger": trigger, "due_on": due.isoformat(), "reason": req.reason})
    return req


def raise_yearly_reviews(session: Session, *, actor: Actor, today: date) -> int:
    """Raise the yearly review for every person whose latest assessment's review date has come."""
    latest = (select(CareAssessment.person_id, func.max(CareAssessment.id).label("aid"))
              .group_by(CareAssessment.person_id).subquery())
    due = session.scalars(select(CareAssessment).join(latest, latest.c.aid == CareAssessment.id)
                          .where(CareAssessment.next_due_on <= today)).all()
    open_people = set(session.scalars(select(ReassessmentRequest.person_id).where(
        ReassessmentRequest.done_assessment_id.is_(None))))
    live = set(session.scalars(select(CareEntitlement.person_id).where(
        CareEntitlement.status == EntitlementStatus.ACTIVE)))
    raised = 0
    for a in due:
        if a.person_id in open_people or a.person_id not in live:
            continue
        request_reassessment(session, actor=actor, person_id=a.person_id, trigger=Trigger.YEARLY,
                             reason=f"上次评估 {a.assessed_on:%Y-%m-%d}，已满复核周期", today=today)
        raised += 1
    return raised


# ---------------------------------------------------------------- providers and recipients


def create_provider(session: Session, *, actor: Actor, key: str, name: str, area_code: str, contract_no: str,
                    contract_from: date, contract_to: date, townships: list[str], services: list[str],
                    hourly_rate: Decimal | None = None, phone: str = "") -> CareProvider:
    """Register a procured provider and its contract; the price defaults to the pack's."""
    actor.require("care.manage")
    errors = []
    if not actor.sees(area_code):
        errors.append(FieldError("area_code", "采购区划不在您的管辖范围内"))
    if contract_to < contract_from:
        errors.append(FieldError("contract_to", "合同截止日期早于起始日期"))
    outside = [t for t in townships if not t.startswith(area_code)]
    if outside:
        errors.append(FieldError("townships", f"服务区域 {', '.join(outside)} 不在采购区划内"))
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        errors.append(FieldError("services", f"未知服务项目：{', '.join(unknown)}"))
    if session.scalar(select(CareProvider.id).where(CareProvider.key == key)) is not None:
        errors.append(FieldError("key", f"机构代码 {key} 已存在"))
    if errors:
        raise ValidationFailed(errors)
    rate = hourly_rate if hourly_rate is not None else care_rules(area_code, contract_from).default_rate
    p = CareProvider(key=key, name=name, area_code=area_code, contract_no=contract_no, contract_from=contract_from,
                     contract_to=contract_to, townships=townships, services=services, hourly_rate=rate, phone=phone,
                     version=1)
    session.add(p)
    session.flush()
    audit.record(session, actor=actor, action="care.provider_create", object_type="care_provider", object_id=p.id,
                 area_code=area_code, after={"key": key, "name": name, "hourly_rate": str(rate),
                                             "townships": townships})
    return p


def providers(session: Session, *, actor: Actor) -> list[CareProvider]:
    """Providers the actor sees: all procured in the actor's county for staff; a provider's own for its users."""
    stmt = select(CareProvider).order_by(CareProvider.name)
    stmt = in_scope(stmt, actor, org=(OrgKind.PROVIDER, CareProvider.key))
    return [p for p in session.scalars(stmt) if actor.sees(p.area_code) or any(actor.sees(t) for t in p.townships)]


def get_provider(session: Session, *, actor: Actor, provider_id: int) -> CareProvider:
    """One provider the actor may see."""
    for p in providers(session, actor=actor):
        if p.id == provider_id:
            return p
    raise NotFound(f"服务机构 {provider_id}")


def add_caregiver(session: Session, *, actor: Actor, provider_id: int, name: str, area_code: str,
                  phone: str = "", user_id: int | None = None) -> Caregiver:
    """A caregiver of a provider (the provider's own account or area staff)."""
    actor.require("care.schedule")
    p = get_provider(session, actor=actor, provider_id=provider_id)
    if not any(area_code.startswith(t) or t.startswith(area_code) for t in p.townships):
        raise ValidationFailed([FieldError("area_code", "护理员所在区域不在该机构的服务区域内")])
    c = Caregiver(provider_id=p.id, area_code=area_code, name=name, phone=phone, user_id=user_id, version=1)
    session.add(c)
    session.flush()
    audit.record(session, actor=actor, action="care.caregiver_add", object_type="care_caregiver", object_id=c.id,
                 area_code=area_code, after={"provider": p.key, "name": name})
    return c


def enroll_recipient(session: Session, *, actor: Actor, person_id: int, provider_id: int | None,
                     latitude: float | None = None, longitude: float | None = None,
                     coords_source: str = "township") -> CareRecipient:
    """Assign a dispersed 特困 person to a provider whose contract covers the person's township, and record
    the home's coordinates (entered by the township)."""
    actor.require("care.manage")
    a = latest_assessment(session, person_id=person_id)
    if a is None or not actor.sees(a.area_code):
        raise NotFound(f"照料对象 {person_id}")
    p = None
    if provider_id is not None:
        p = get_provider(session, actor=actor, provider_id=provider_id)
        if not any(in_subtree(a.area_code, t) for t in p.townships):
            raise ValidationFailed([FieldError("provider_id", f"{p.name} 的合同服务区域不含该人员所在乡镇")])
    if (latitude is None) != (longitude is None) or (latitude is not None and not (
            -90 <= latitude <= 90 and -180 <= float(longitude or 0) <= 180)):
        raise ValidationFailed([FieldError("latitude", "经纬度须同时填写且在有效范围内")])
    r = session.scalar(select(CareRecipient).where(CareRecipient.person_id == person_id))
    hh = session.scalar(select(Membership.household_id).where(Membership.person_id == person_id,
                                                             Membership.valid_to.is_(None)))
    if hh is None:
        raise ValidationFailed([FieldError("person_id", "该人员没有现行家庭档案")])
    before = None
    if r is None:
        r = CareRecipient(person_id=person_id, household_id=hh, area_code=a.area_code, version=1)
        session.add(r)
    else:
        versions.claim(session, r, label="照料对象")
        before = {"provider_key": r.provider_key, "latitude": r.latitude, "longitude": r.longitude}
    r.provider_id, r.provider_key = (p.id, p.key) if p else (None, None)
    if latitude is not None:
        r.latitude, r.longitude, r.coords_source = latitude, longitude, coords_source
    session.flush()
    audit.record(session, actor=actor, action="care.recipient_assign", object_type="care_recipient", object_id=r.id,
                 area_code=r.area_code, before=before,
                 after={"provider_key": r.provider_key, "latitude": r.latitude, "longitude": r.longitude})
    return r


def get_recipient(session: Session, *, actor: Actor, person_id: int) -> CareRecipient:
    """The recipient record of a person, inside the actor's area and (for providers) assigned to them."""
    r = session.scalar(select(CareRecipient).where(CareRecipient.person_id == person_id))
    if r is None or not actor.sees(r.area_code) or not actor.sees_org(OrgKind.PROVIDER, r.provider_key):
        raise NotFound(f"照料对象 {person_id}")
    return r


@dataclass(frozen=True)
class RecipientRow:
    """A line of the recipients' list."""

    person_id: int
    name: str
    id_number: str
    area_code: str
    level: str
    hours: Decimal
    provider: str
    has_coords: bool


def recipients(session: Session, *, actor: Actor, month: date, q: str = "", level: str = "",
               provider_id: int | None = None, area: str = "", page: int = 1,
               per_page: int = 50) -> tuple[list[RecipientRow], int]:
    """Entitled persons of a month, searchable by name or ID number, filterable by level, provider and area."""
    actor.require("care.read")
    month = month_start(month)
    stmt = (select(CareEntitlement.person_id, Person.name, Person.id_number, CareEntitlement.area_code,
                   CareEntitlement.level, CareEntitlement.hours, CareProvider.name,
                   and_(CareRecipient.latitude.is_not(None), CareRecipient.longitude.is_not(None)))
            .join(Person, Person.id == CareEntitlement.person_id)
            .outerjoin(CareRecipient, CareRecipient.person_id == CareEntitlement.person_id)
            .outerjoin(CareProvider, CareProvider.id == CareRecipient.provider_id)
            .where(CareEntitlement.from_month <= month,
                   or_(CareEntitlement.to_month.is_(None), CareEntitlement.to_month > month)))
    stmt = provider_scope(stmt, actor, area=CareEntitlement.area_code, org=CareRecipient.provider_key)
    if q:
        stmt = stmt.where(or_(Person.name.contains(q), Person.id_number == q))
    if level:
        stmt = stmt.where(CareEntitlement.level == level)
    if provider_id:
        stmt = stmt.where(CareRecipient.provider_id == provider_id)
    if area:
        stmt = under(stmt, CareEntitlement.area_code, area)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(CareEntitlement.area_code, Person.name)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return [RecipientRow(r[0], r[1], r[2], r[3], r[4], Decimal(r[5]), r[6] or "", bool(r[7])) for r in rows], total


def assessments_of(session: Session, *, person_id: int) -> list[CareAssessment]:
    """A person's assessments, newest first."""
    return list(session.scalars(select(CareAssessment).where(CareAssessment.person_id == person_id)
                                .order_by(CareAssessment.assessed_on.desc(), CareAssessment.id.desc())))


def entitlements_of(session: Session, *, person_id: int) -> list[CareEntitlement]:
    """A person's entitlement periods, newest first."""
    return list(session.scalars(select(CareEntitlement).where(CareEntitlement.person_id == person_id)
                                .order_by(CareEntitlement.from_month.desc())))


def open_reassessments(session: Session, *, actor: Actor, limit: int = 200) -> list[ReassessmentRequest]:
    """Re-assessments not yet done in the actor's area, earliest due first."""
    stmt = select(ReassessmentRequest).where(ReassessmentRequest.done_assessment_id.is_(None))
    stmt = in_scope(stmt, actor, area=ReassessmentRequest.area_code)
    return list(session.scalars(stmt.order_by(ReassessmentRequest.due_on).limit(limit)))


def get_assessment(session: Session, *, actor: Actor, assessment_id: int) -> CareAssessment:
    """One assessment in the actor's area."""
    return get_in_area(session, CareAssessment, assessment_id, actor=actor, action="care.read", label="评估")


def month_or_error(text: str) -> date:
    """A month typed as YYYY-MM (or a date), as its first day; a clear error otherwise."""
    try:
        return month_start(date.fromisoformat(text if len(text) > 7 else f"{text}-01"))
    except ValueError:
        raise ValidationFailed([FieldError("month", f"月份格式应为 YYYY-MM：{text!r}")]) from None


def check_version(obj: Any, version: int | None, label: str) -> None:
    """Refuse a change based on an outdated version the user saw."""
    if version is not None and int(obj.version) != int(version):
        raise Conflict(versions.stale_message(int(version), int(obj.version), label))


# ---------------------------------------------------------------- return visits and complaints


def record_feedback(session: Session, *, actor: Actor, person_id: int, kind: str, content: str, today: date,
                    satisfaction: int | None = None) -> CareFeedback:
    """A supervisor's phone return visit (with satisfaction 1–5) or a complaint (open until closed)."""
    actor.require("care.supervise")
    errors = []
    if kind not in set(FeedbackKind):
        errors.append(FieldError("kind", "类型须为回访或投诉"))
    if not content.strip():
        errors.append(FieldError("content", "须填写内容"))
    if kind == FeedbackKind.RETURN_VISIT and (satisfaction is None or not 1 <= satisfaction <= 5):
        errors.append(FieldError("satisfaction", "回访须记录满意度（1–5）"))
    if errors:
        raise ValidationFailed(errors)
    r = get_recipient(session, actor=actor, person_id=person_id)
    f = CareFeedback(person_id=person_id, area_code=r.area_code, provider_id=r.provider_id,
                     provider_key=r.provider_key, kind=kind, satisfaction=satisfaction, content=content.strip(),
                     status=FeedbackStatus.CLOSED if kind == FeedbackKind.RETURN_VISIT else FeedbackStatus.OPEN,
                     recorded_on=today, recorded_by=actor.username, version=1)
    session.add(f)
    session.flush()
    audit.record(session, actor=actor, action="care.feedback", object_type="care_feedback", object_id=f.id,
                 area_code=f.area_code, after={"kind": kind, "satisfaction": satisfaction, "status": f.status})
    return f


def close_complaint(session: Session, *, actor: Actor, feedback_id: int, resolution: str, today: date,
                    version: int | None = None) -> CareFeedback:
    """Close a complaint with how it was resolved."""
    actor.require("care.supervise")
    f = get_in_area(session, CareFeedback, feedback_id, actor=actor, action=None, label="投诉")
    if f.kind != FeedbackKind.COMPLAINT or f.status != FeedbackStatus.OPEN:
        raise Conflict("该记录不是待办结的投诉")
    if not resolution.strip():
        raise ValidationFailed([FieldError("resolution", "须填写办理结果")])
    versions.claim(session, f, version, label="投诉")
    f.status, f.resolution, f.closed_on = FeedbackStatus.CLOSED, resolution.strip(), today
    audit.record(session, actor=actor, action="care.complaint_close", object_type="care_feedback", object_id=f.id,
                 area_code=f.area_code, before={"status": "open"}, after={"status": "closed"},
                 extra={"resolution": f.resolution})
    return f


def feedback_list(session: Session, *, actor: Actor, status: str = "", kind: str = "",
                  limit: int = 200) -> list[tuple[CareFeedback, str]]:
    """Return visits and complaints in the actor's scope, newest first, with the person's name."""
    actor.require("care.read")
    stmt = select(CareFeedback, Person.name).join(Person, Person.id == CareFeedback.person_id)
    stmt = provider_scope(stmt, actor, area=CareFeedback.area_code, org=CareFeedback.provider_key)
    if status:
        stmt = stmt.where(CareFeedback.status == status)
    if kind:
        stmt = stmt.where(CareFeedback.kind == kind)
    return [(f, n) for f, n in session.execute(stmt.order_by(CareFeedback.id.desc()).limit(limit))]


def expire_rows(session: Session, model: type, ids: list[int]) -> None:
    """Forget loaded objects that a bulk UPDATE changed, so later reads see the database's values."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and getattr(obj, "id", None) in wanted:
            session.expire(obj)
