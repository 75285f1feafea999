"""Authorisations (授权书), verification requests (提请) and their per-source tracking (即时追踪).

Services take a Session, check the actor's permission and area, audit every change, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause, get_in_area, in_area
from doudi.core import clock
from doudi.core.dates import whole_months_before
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.frames import read_frame, read_frame_in, write_frame
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.policy.calendar import calendar_for
from doudi.policy.params import load_pack
from doudi.registry import writes
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


REVIEW_PENDING = "有待人工确认的匹配"
MOVED_OUT = "迁出（户籍部门数据）"
REQUEST_COLUMNS = {"id": pl.Int64, "household_id": pl.Int64, "area_code": pl.Utf8, "requested_on": pl.Date,
                   "started_at": pl.Datetime("us", "UTC"), "status": pl.Utf8, "version": pl.Int64}


@dataclass(frozen=True)
class Answered:
    """What answering a set of requests did: requests, their sources by new status, facts added."""

    requests: int
    facts_added: pl.DataFrame  # household_id, facts (rows added per household)
    statuses: pl.DataFrame  # request_id, status, n (sources per request and status)
    completed: int

    def counts(self) -> dict[str, object]:
        """The run's counts for its audit entry."""
        by_status = self.statuses.group_by("status").agg(pl.col("n").sum()).sort("status")
        return {"requests": self.requests, "completed": self.completed,
                "facts_added": int(self.facts_added["facts"].sum()),
                "sources": dict(zip(by_status["status"].to_list(), by_status["n"].to_list(), strict=True))}


def _latest_batches(session: Session, requests: pl.DataFrame) -> pl.DataFrame:
    """Per request and source, the newest feed batch that can reach the request's household (its area's, a
    wider area's, or a national one): request_id, source_key, latest_id, latest_failed."""
    batches = list(session.scalars(select(IngestBatch).where(IngestBatch.kind == "feed")))
    frame = pl.DataFrame({"latest_id": [b.id for b in batches], "source_key": [b.source_key for b in batches],
                          "latest_failed": [b.status == BatchStatus.FAILED for b in batches],
                          "prefix": [link_prefix(b) for b in batches]},
                         schema={"latest_id": pl.Int64, "source_key": pl.Utf8, "latest_failed": pl.Boolean,
                                 "prefix": pl.Utf8})
    return (requests.select(pl.col("id").alias("request_id"), "area_code").join(frame, how="cross")
            .filter(pl.col("prefix").is_null() | pl.col("area_code").str.starts_with(pl.col("prefix")))
            .sort("latest_id").group_by("request_id", "source_key").last()
            .select("request_id", "source_key", "latest_id", "latest_failed"))


def _answer(session: Session, *, actor: Actor, requests: pl.DataFrame) -> Answered:
    """Answer every source of these requests from the linked feed rows, in joins over frames, and turn the
    answers into registry facts (source_kind='feed'), bulk-written through db.frames. The single request
    (process_request) and the refresh of every open request run this same code."""
    session.flush()  # the frame reads below go through the connection: pending ORM rows first
    now = datetime.now(UTC)
    requests = requests.sort("id")
    members = read_frame_in(session, select(Membership.person_id, Membership.household_id)
                            .where(Membership.valid_to.is_(None)), Membership.household_id,
                            requests["household_id"].unique().sort().to_list(),
                            schema={"person_id": pl.Int64, "household_id": pl.Int64})
    person_ids = members["person_id"].unique().sort().to_list()
    feed = facts_mod.load_feed(session, person_ids=person_ids)
    links = (pl.concat([f.select("person_id", "source_key", "batch_id") for f in feed.values()])
             if feed else pl.DataFrame(schema={"person_id": pl.Int64, "source_key": pl.Utf8, "batch_id": pl.Int64}))
    answered = (links.join(members, on="person_id").group_by("household_id", "source_key")
                .agg(pl.len().cast(pl.Int64).alias("n_records"), pl.col("batch_id").max().alias("max_batch")))
    reviews = read_frame_in(session, select(LinkReview.candidate_person_id, LinkReview.source_key)
                            .where(LinkReview.status == ReviewStatus.PENDING), LinkReview.candidate_person_id,
                            person_ids, schema={"person_id": pl.Int64, "source_key": pl.Utf8})
    reviewed = (reviews.join(members, on="person_id").select("household_id", "source_key").unique()
                .with_columns(review=pl.lit(True)))
    sources = read_frame_in(session, select(RequestSource.id, RequestSource.request_id, RequestSource.source_key,
                                            RequestSource.status, RequestSource.records, RequestSource.batch_id,
                                            RequestSource.answered_at, RequestSource.message),
                            RequestSource.request_id, requests["id"].to_list())
    table = (sources.join(requests.select(pl.col("id").alias("request_id"), "household_id"), on="request_id")
             .join(answered, on=["household_id", "source_key"], how="left")
             .join(reviewed, on=["household_id", "source_key"], how="left")
             .join(_latest_batches(session, requests), on=["request_id", "source_key"], how="left")
             .with_columns(pl.col("review").fill_null(False), pl.col("n_records").fill_null(0)))
    has = pl.col("n_records") > 0
    review, latest, failed = pl.col("review"), pl.col("latest_id"), pl.col("latest_failed").fill_null(False)
    status = (pl.when(has).then(pl.lit(SourceStatus.ANSWERED.value))
              .when(review | latest.is_null()).then(pl.lit(SourceStatus.PENDING.value))
              .when(failed).then(pl.lit(SourceStatus.ERROR.value))
              .otherwise(pl.lit(SourceStatus.NO_RECORD.value)))
    new = table.with_columns(
        status_new=status,
        records_new=pl.when(has).then("n_records").when(~review & latest.is_not_null() & ~failed).then(0)
        .otherwise("records"),
        batch_new=pl.when(has).then("max_batch").when(review | latest.is_null()).then("batch_id")
        .otherwise(latest),
        message_new=pl.when(has).then(pl.when(review).then(pl.lit(REVIEW_PENDING)).otherwise(pl.lit("")))
        .when(review).then(pl.lit(REVIEW_PENDING)).when(latest.is_null()).then(pl.lit("尚未收到该部门数据"))
        .when(failed).then(pl.lit("最近一批数据导入失败")).otherwise(pl.lit("")),
    ).with_columns(answered_new=pl.when((pl.col("status_new") != SourceStatus.PENDING.value)
                                        & pl.col("answered_at").is_null())
                   .then(pl.lit(now, pl.Datetime("us", "UTC"))).otherwise("answered_at"))
    compared = {"status": "status_new", "records": "records_new", "batch_id": "batch_new",
                "answered_at": "answered_new", "message": "message_new"}
    changed = new.filter(~pl.all_horizontal(pl.col(c).eq_missing(pl.col(n)) for c, n in compared.items()))
    write_frame(session, RequestSource, changed.select(
        "id", status="status_new", records="records_new", batch_id="batch_new", answered_at="answered_new",
        message="message_new"), mode="update", match=["id"])

    as_of = requests.select("household_id", as_of="requested_on").unique("household_id", keep="first")
    dated = members.join(as_of, on="household_id")
    added = facts_mod.store_facts(session, facts_mod.feed_facts(feed, dated), recorded_by=actor.user_id)
    # Members the 户籍 feed reports as moved out leave the household on that date, through the registry writer,
    # when the user may change households (otherwise the 核对报告 lists the move for one who may).
    moved = facts_mod.moves_out(feed, dated)
    if moved.height and actor.can("household.update"):
        writes.end_memberships(session, actor=actor, moves=moved, reason=MOVED_OUT)
    pending = new.group_by("request_id").agg((pl.col("status_new") == SourceStatus.PENDING.value).any().alias("p"))
    state = (requests.join(pending.rename({"request_id": "id"}), on="id", how="left")
             .with_columns(status_new=pl.when(pl.col("p").fill_null(False)).then(pl.lit(RequestStatus.OPEN.value))
                           .otherwise(pl.lit(RequestStatus.COMPLETE.value)),
                           started_new=pl.coalesce("started_at", pl.lit(now, pl.Datetime("us", "UTC")))))
    moved = state.filter((pl.col("status_new") != pl.col("status")) | pl.col("started_at").is_null())
    if moved.height:
        done = write_frame(session, VerificationRequest, moved.select(
            "id", "version", status="status_new", started_at="started_new"), mode="update", match=["id"]).rows
        if done != moved.height:
            raise Conflict("核对请求在处理期间被他人修改，请重试")
    _expire(session, VerificationRequest, set(requests["id"].to_list()))
    _expire(session, RequestSource, set(sources["id"].to_list()))
    return Answered(
        requests=requests.height,
        facts_added=added.group_by("household_id").agg(pl.len().cast(pl.Int64).alias("facts"))
        if added.height else pl.DataFrame(schema={"household_id": pl.Int64, "facts": pl.Int64}),
        statuses=new.group_by("request_id", pl.col("status_new").alias("status")).agg(pl.len().alias("n")),
        completed=int((state["status_new"] == RequestStatus.COMPLETE.value).sum()))


def _expire(session: Session, model: type, ids: set[int]) -> None:
    """Objects of `model` the session holds for rows written through db.frames load again when next read."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and getattr(obj, "id", None) in ids:
            session.expire(obj)


def _requests(session: Session, stmt: Any) -> pl.DataFrame:
    return read_frame(session, stmt, schema=REQUEST_COLUMNS)


def _request_select() -> Any:
    return select(VerificationRequest.id, VerificationRequest.household_id, VerificationRequest.area_code,
                  VerificationRequest.requested_on, VerificationRequest.started_at, VerificationRequest.status,
                  VerificationRequest.version)


def process_request(session: Session, *, actor: Actor, request_id: int) -> VerificationRequest:
    """Answer each source of one request from the linked feed rows; turn answers into registry facts
    (source_kind='feed'). The same joins as `refresh_open_requests`, for one request."""
    req = get_request(session, actor=actor, request_id=request_id)
    _household(session, actor, req.household_id)
    result = _answer(session, actor=actor, requests=_requests(session, _request_select().where(
        VerificationRequest.id == req.id)))
    statuses = result.statuses
    audit.record(session, actor=actor, action="verification.process", object_type="verification_request",
                 object_id=req.id, area_code=req.area_code,
                 extra={"facts_added": int(result.facts_added["facts"].sum()),
                        "statuses": dict(zip(statuses["status"].to_list(), statuses["n"].to_list(), strict=True))})
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
    """Re-answer every open request in the actor's area (after a feed batch or review decisions), in one
    pass over frames; one audit entry names the run's counts."""
    requests = _requests(session, _request_select().where(
        VerificationRequest.status == RequestStatus.OPEN, area_clause(VerificationRequest.area_code, actor)))
    if requests.is_empty():
        return 0
    actor.require("verification.read")
    result = _answer(session, actor=actor, requests=requests)
    audit.record(session, actor=actor, action="verification.refresh", object_type="verification_request",
                 object_id="open", extra=result.counts())
    return requests.height


def household_ids_of(session: Session, person_ids: list[int]) -> dict[int, int]:
    """Current household of each person."""
    rows = session.execute(select(Membership.person_id, Membership.household_id).where(
        Membership.person_id.in_(person_ids), Membership.valid_to.is_(None))).all()
    return {p: h for p, h in rows}
