"""Authorisations (授权书), verification requests (提请) and their per-source tracking (即时追踪).

Services take a Session, check the actor's permission and area, audit every change, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause, get_in_area, in_area, in_subtree
from doudi.core import clock
from doudi.core.dates import whole_months_before
from doudi.core.errors import FieldError, ValidationFailed
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.policy.calendar import calendar_for
from doudi.policy.params import load_pack
from doudi.registry.models import Household, Membership
from doudi.registry.service import current_members
from doudi.verification import facts as facts_mod
from doudi.verification.models import (
    Authorisation,
    LinkReview,
    RequestSource,
    RequestStatus,
    ReviewStatus,
    SourceStatus,
    VerificationRequest,
)
from doudi.verification.reach import link_prefix
from doudi.verification.sources import load_sources

STATUS_LABELS = {"pending": "待反馈", "answered": "已反馈", "no_record": "无记录", "error": "异常"}


def _household(session: Session, actor: Actor, household_id: int) -> Household:
    return get_in_area(session, Household, household_id, actor=actor, action=None, label="household")


def record_authorisation(
    session: Session, *, actor: Actor, household_id: int, person_id: int, signed_by_name: str, signed_on: date,
    document_ref: str, scope: list[str] | None = None, signed_by_relation: str = "self",
    valid_until: date | None = None, application_ref: str | None = None,
) -> Authorisation:
    """Record a member's signed authorisation; the case workflow calls this when it takes an application."""
    actor.require("verification.request")
    hh = _household(session, actor, household_id)
    if person_id not in {m.person_id for m in current_members(hh)}:
        raise ValidationFailed([FieldError("person_id", "该人员不是本户现有成员")])
    scope = scope or ["all"]
    unknown = [s for s in scope if s != "all" and s not in load_sources()]
    errors = [FieldError("scope", f"未知数据源 {', '.join(unknown)}")] if unknown else []
    if not signed_by_name.strip():
        errors.append(FieldError("signed_by_name", "签署人姓名必填"))
    if not document_ref.strip():
        errors.append(FieldError("document_ref", "授权书编号/影像引用必填"))
    if signed_by_relation not in ("self", "guardian", "agent"):
        errors.append(FieldError("signed_by_relation", "应为 self/guardian/agent"))
    if signed_on > clock.today():
        errors.append(FieldError("signed_on", "签署日期不能晚于今天"))
    if errors:
        raise ValidationFailed(errors)
    auth = Authorisation(household_id=household_id, person_id=person_id, signed_by_name=signed_by_name.strip(),
                         signed_by_relation=signed_by_relation, signed_on=signed_on, scope=scope,
                         document_ref=document_ref.strip(), valid_until=valid_until, application_ref=application_ref,
                         created_by=actor.user_id)
    session.add(auth)
    session.flush()
    audit.record(session, actor=actor, action="verification.authorise", object_type="authorisation",
                 object_id=auth.id, area_code=hh.area_code,
                 after={"person_id": person_id, "signed_on": signed_on.isoformat(), "scope": scope,
                        "document_ref": auth.document_ref, "signed_by_relation": signed_by_relation})
    return auth


def authorisations_for(session: Session, *, actor: Actor, household_id: int) -> list[Authorisation]:
    """The household's authorisations, newest first."""
    actor.require("verification.read")
    _household(session, actor, household_id)
    return list(session.scalars(select(Authorisation).where(Authorisation.household_id == household_id)
                                .order_by(Authorisation.id.desc())))


def _valid(a: Authorisation, on: date) -> bool:
    return a.revoked_on is None and a.signed_on <= on and (a.valid_until is None or a.valid_until >= on)


def missing_authorisations(session: Session, hh: Household, on: date) -> list[tuple[int, str, list[str]]]:
    """Counted members whose valid authorisations do not cover every source: (person_id, name, sources)."""
    keys = set(load_sources())
    auths = session.scalars(select(Authorisation).where(Authorisation.household_id == hh.id)).all()
    out = []
    for m in current_members(hh):
        if m.exclusion is not None:
            continue
        covered: set[str] = set()
        for a in auths:
            if a.person_id == m.person_id and _valid(a, on):
                covered |= keys if "all" in a.scope else set(a.scope)
        if keys - covered:
            out.append((m.person_id, m.person.name, sorted(keys - covered)))
    return out


def create_request(
    session: Session, *, actor: Actor, household_id: int, requested_on: date | None = None,
    purpose: str = "application", case_ref: str | None = None, start: bool = True,
) -> VerificationRequest:
    """Open a request for every source; refuses while a counted member's authorisation is missing."""
    actor.require("verification.request")
    hh = _household(session, actor, household_id)
    on = requested_on or clock.today()
    missing = missing_authorisations(session, hh, on)
    if missing:
        raise ValidationFailed([
            FieldError(f"member:{pid}", f"{name} 未签署覆盖全部数据源的有效授权书（缺 {len(src)} 项）")
            for pid, name, src in missing])
    pack = load_pack(hh.area_code)
    calendar = calendar_for(hh.area_code)
    due = calendar.add_workdays(on, int(pack.value("procedure.verification_start_workdays", on=on)))
    note = "；".join(calendar.warnings_for(on, due))
    # The whole months before the request, as many as the county averages income over (审核确认办法 Art. 13).
    first, last = whole_months_before(on, int(pack.value("dibao.income.averaging_months", on=on)))
    req = VerificationRequest(household_id=hh.id, area_code=hh.area_code, requested_on=on, due_on=due,
                              period_start=first, period_end=last, purpose=purpose, case_ref=case_ref,
                              status=RequestStatus.OPEN, calendar_note=note, requested_by=actor.user_id, version=1)
    session.add(req)
    session.flush()
    for key in load_sources():
        session.add(RequestSource(request_id=req.id, source_key=key, status=SourceStatus.PENDING))
    session.flush()
    audit.record(session, actor=actor, action="verification.request", object_type="verification_request",
                 object_id=req.id, area_code=hh.area_code,
                 after={"household_id": hh.id, "requested_on": on.isoformat(), "due_on": due.isoformat(),
                        "period": f"{req.period_start}~{req.period_end}"})
    if start:
        process_request(session, actor=actor, request_id=req.id)
    return req


def get_request(session: Session, *, actor: Actor, request_id: int) -> VerificationRequest:
    """One request within the actor's area."""
    return get_in_area(session, VerificationRequest, request_id, actor=actor, action="verification.read",
                       label="verification request")


def process_request(session: Session, *, actor: Actor, request_id: int,
                    records: pl.DataFrame | None = None) -> VerificationRequest:
    """Answer each source from the linked feed rows; turn answers into registry facts (source_kind='feed').

    `records` (from facts.load_records, for these members or more) saves reading the feeds again when
    many requests are answered in one go.
    """
    req = get_request(session, actor=actor, request_id=request_id)
    hh = _household(session, actor, req.household_id)
    members = [m for m in current_members(hh)]
    person_ids = [m.person_id for m in members]
    records = facts_mod.load_records(session, person_ids=person_ids) if records is None else \
        records.filter(pl.col("person_id").is_in(person_ids))
    # Only batches that can reach this household (its area's, a wider area's, or national ones) answer for it.
    latest = {b.source_key: b for b in session.scalars(
        select(IngestBatch).where(IngestBatch.kind == "feed").order_by(IngestBatch.id))
        if (prefix := link_prefix(b)) is None or in_subtree(hh.area_code, prefix)}
    reviews = set(session.scalars(select(LinkReview.source_key).where(
        LinkReview.candidate_person_id.in_(person_ids), LinkReview.status == ReviewStatus.PENDING)))
    now = datetime.now(UTC)
    for rs in session.scalars(select(RequestSource).where(RequestSource.request_id == req.id)):
        mine = records.filter(pl.col("source_key") == rs.source_key)
        batch = latest.get(rs.source_key)
        if mine.height:
            rs.status, rs.records, rs.batch_id = SourceStatus.ANSWERED, mine.height, int(mine["batch_id"].max())  # type: ignore[arg-type]
            rs.message = "有待人工确认的匹配" if rs.source_key in reviews else ""
        elif rs.source_key in reviews:
            rs.status, rs.message = SourceStatus.PENDING, "有待人工确认的匹配"
        elif batch is None:
            rs.status, rs.message = SourceStatus.PENDING, "尚未收到该部门数据"
        elif batch.status == BatchStatus.FAILED:
            rs.status, rs.message, rs.batch_id = SourceStatus.ERROR, "最近一批数据导入失败", batch.id
        else:
            rs.status, rs.records, rs.batch_id, rs.message = SourceStatus.NO_RECORD, 0, batch.id, ""
        if rs.status != SourceStatus.PENDING and rs.answered_at is None:
            rs.answered_at = now
    member_frame = pl.DataFrame({"person_id": person_ids, "household_id": [hh.id] * len(person_ids)},
                                schema={"person_id": pl.Int64, "household_id": pl.Int64})
    added = facts_mod.store_facts(session, facts_mod.feed_facts(records, member_frame, as_of=req.requested_on),
                                  recorded_by=actor.user_id)
    if req.started_at is None:
        req.started_at = now
    statuses = [rs.status for rs in session.scalars(select(RequestSource).where(RequestSource.request_id == req.id))]
    req.status = RequestStatus.OPEN if "pending" in statuses else "complete"
    session.flush()
    audit.record(session, actor=actor, action="verification.process", object_type="verification_request",
                 object_id=req.id, area_code=req.area_code,
                 extra={"facts_added": added, "statuses": {s: statuses.count(s) for s in set(statuses)}})
    return req


@dataclass
class SourceTrack:
    """One line of the tracking view."""

    source_key: str
    label: str
    agency: str
    status: str
    status_label: str
    records: int
    answered_at: datetime | None
    message: str


def tracking(session: Session, *, actor: Actor, request_id: int) -> tuple[VerificationRequest, list[SourceTrack]]:
    """Status per source of one request (for the console and, later, the citizen portal)."""
    req = get_request(session, actor=actor, request_id=request_id)
    sources = load_sources()
    rows = session.scalars(select(RequestSource).where(RequestSource.request_id == req.id)
                           .order_by(RequestSource.id)).all()
    return req, [SourceTrack(r.source_key, sources[r.source_key].label if r.source_key in sources else r.source_key,
                             sources[r.source_key].agency if r.source_key in sources else "", r.status,
                             STATUS_LABELS.get(r.status, r.status), r.records, r.answered_at, r.message) for r in rows]


def household_tracking(session: Session, *, actor: Actor, household_id: int
                       ) -> tuple[VerificationRequest, list[SourceTrack]] | None:
    """The latest request of a household and its tracking, or None (the citizen portal's entry point)."""
    actor.require("verification.read")
    _household(session, actor, household_id)
    rid = session.scalar(select(func.max(VerificationRequest.id))
                         .where(VerificationRequest.household_id == household_id))
    return None if rid is None else tracking(session, actor=actor, request_id=rid)


def list_requests(session: Session, *, actor: Actor, status: str = "", limit: int = 200) -> list[VerificationRequest]:
    """Requests in the actor's area, newest first."""
    actor.require("verification.read")
    stmt = in_area(select(VerificationRequest), VerificationRequest.area_code, actor)
    if status:
        stmt = stmt.where(VerificationRequest.status == status)
    return list(session.scalars(stmt.order_by(VerificationRequest.id.desc()).limit(limit)))


def refresh_open_requests(session: Session, *, actor: Actor) -> int:
    """Re-answer every open request in the actor's area (after a feed batch or review decisions)."""
    open_reqs = session.execute(select(VerificationRequest.id, VerificationRequest.household_id).where(
        VerificationRequest.status == RequestStatus.OPEN, area_clause(VerificationRequest.area_code, actor))).all()
    if not open_reqs:
        return 0
    # One read of the feeds for every member of every open request, rather than one per request.
    person_ids = session.scalars(select(Membership.person_id).where(
        Membership.household_id.in_({h for _, h in open_reqs}), Membership.valid_to.is_(None))).all()
    records = facts_mod.load_records(session, person_ids=list(person_ids))
    for rid, _ in open_reqs:
        process_request(session, actor=actor, request_id=rid, records=records)
    return len(open_reqs)


def household_ids_of(session: Session, person_ids: list[int]) -> dict[int, int]:
    """Current household of each person."""
    rows = session.execute(select(Membership.person_id, Membership.household_id).where(
        Membership.person_id.in_(person_ids), Membership.valid_to.is_(None))).all()
    return {p: h for p, h in rows}
