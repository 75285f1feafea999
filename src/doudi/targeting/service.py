"""核对成效: what verification changed and found, per township and month, over the verification requests
(applications and reviews) of a period, within the actor's area.

For each request the engine assesses the household twice on the request date, with the same packs and the
same reader: on declared facts only, and on every fact the registry holds (declared, agency feeds, investigated;
the most authoritative wins). The difference is what verification changed. The figures are recomputed from the
registry when the report is asked for, so a later feed batch (or a correction) shows in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause, under
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.frames import read_frame, read_frame_in
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.policy.engine import evaluate_frames, long_decisions
from doudi.policy.frames import Frames
from doudi.policy.registry_frames import read_registry
from doudi.registry.models import Membership
from doudi.targeting import rules
from doudi.verification.models import FeedRecord, VerificationRequest

TOWNSHIP = 9  # GB/T 2260: county (6) + township (3) digits
DECLARED = ("declared",)
MAX_DAYS = 366 * 3  # a longer period is asked for in pieces (the report assesses every household twice)

REQUEST_SCHEMA = {"request_id": pl.Int64(), "household_id": pl.Int64(), "area_code": pl.String(),
                  "requested_on": pl.Date(), "purpose": pl.String(), "status": pl.String()}


@dataclass
class Effect:
    """The report: one frame per table, and the period and area it covers."""

    start: date
    end: date
    area: str
    requests: pl.DataFrame  # request_id, household_id, township, month, purpose, status
    changes: pl.DataFrame  # per request, household and program (rules.decision_changes)
    findings: pl.DataFrame  # per request (rules.fact_findings)
    by_program: pl.DataFrame = field(default_factory=pl.DataFrame)  # township, month, program, counts, amounts
    by_place: pl.DataFrame = field(default_factory=pl.DataFrame)  # township, month: requests and findings

    @property
    def empty(self) -> bool:
        """No verification request in the period and area."""
        return self.requests.is_empty()


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed([FieldError("to", f"结束日期 {end} 早于开始日期 {start}")])
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed([FieldError("to", "统计期间最长三年，请分段统计")])


def read_requests(session: Session, *, actor: Actor, start: date, end: date, area: str = "") -> pl.DataFrame:
    """Verification requests made in [start, end] within the actor's area (and `area`, a subtree the caller
    picked and the actor sees)."""
    stmt = select(VerificationRequest.id, VerificationRequest.household_id, VerificationRequest.area_code,
                  VerificationRequest.requested_on, VerificationRequest.purpose, VerificationRequest.status).where(
        area_clause(VerificationRequest.area_code, actor),
        VerificationRequest.requested_on >= start, VerificationRequest.requested_on <= end)
    return read_frame(session, under(stmt, VerificationRequest.area_code, area), schema=REQUEST_SCHEMA)


def _tag(frames: Frames, requests: pl.DataFrame) -> Frames:
    keys = requests.select("household_id", "request_id")
    return Frames(frames.households.join(keys, on="household_id"), frames.members.join(keys, on="household_id"))


def assess_requests(session: Session, *, requests: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decision changes, fact findings) of each request: the engine on declared facts versus on all facts, on
    the request date; one read per level and date, never per household."""
    conn = session.connection()
    changes: list[pl.DataFrame] = []
    findings_d: list[pl.DataFrame] = []
    findings_v: list[pl.DataFrame] = []
    for (on,), group in requests.sort("requested_on").group_by(["requested_on"], maintain_order=True):
        ids = group["household_id"].unique().to_list()
        levels = {}
        for name, sources in (("declared", DECLARED), ("verified", None)):
            raw = read_registry(conn, on=on, household_ids=ids, sources=sources)
            frames = _tag(raw, group)
            # The engine sees each household once, even when it has two requests on one day.
            decisions = evaluate_frames(raw, on, skip_unconfigured=True)
            long = long_decisions(decisions) if decisions.households.height else pl.DataFrame(
                schema={"household_id": pl.Int64(), "program": pl.String(), "eligible": pl.Boolean(),
                        "monthly_amount": pl.Float64()})
            levels[name] = long.join(group.select("household_id", "request_id"), on="household_id")
            facts = rules.household_facts(frames.households, frames.members)
            (findings_d if name == "declared" else findings_v).append(facts)
        changes.append(rules.decision_changes(levels["declared"], levels["verified"]))
    if not changes:
        return pl.DataFrame(), pl.DataFrame()
    deaths = _deaths(session, requests)
    return (pl.concat(changes, how="vertical_relaxed"),
            rules.fact_findings(pl.concat(findings_d), pl.concat(findings_v), deaths))


def _deaths(session: Session, requests: pl.DataFrame) -> pl.DataFrame:
    """Members of each request's household with a death or cremation record from a finished feed batch
    (the registry may not know of the death: that is the finding)."""
    members = read_frame_in(session, select(Membership.household_id, Membership.person_id).where(
        Membership.valid_to.is_(None)), Membership.__table__.c.household_id,
        requests["household_id"].unique().to_list())
    if members.is_empty():
        return pl.DataFrame(schema={"request_id": pl.Int64(), "household_id": pl.Int64(), "persons": pl.Int64()})
    dead = read_frame_in(session, select(FeedRecord.person_id).join(IngestBatch, IngestBatch.id == FeedRecord.batch_id)
                         .where(IngestBatch.source_key == "death", IngestBatch.status == BatchStatus.DONE),
                         FeedRecord.__table__.c.person_id, members["person_id"].unique().to_list())
    found = members.join(dead.unique(), on="person_id").group_by("household_id").agg(
        persons=pl.col("person_id").n_unique().cast(pl.Int64))
    return requests.select("request_id", "household_id").join(found, on="household_id")


def verification_effect(session: Session, *, actor: Actor, start: date, end: date, area: str = "") -> Effect:
    """The 核对成效 report for requests made in [start, end] (inclusive) in the actor's area."""
    actor.require("targeting.read")
    _check_period(start, end)
    requests = read_requests(session, actor=actor, start=start, end=end, area=area)
    requests = requests.with_columns(township=pl.col("area_code").str.slice(0, TOWNSHIP),
                                     month=pl.col("requested_on").dt.strftime("%Y-%m"))
    if requests.is_empty():
        return Effect(start, end, area, requests, pl.DataFrame(), pl.DataFrame())
    changes, findings = assess_requests(session, requests=requests)
    place = requests.select("request_id", "township", "month", "purpose")
    changes = changes.join(place, on="request_id")
    findings = findings.join(place, on="request_id")
    by_program = rules.summarise_changes(changes, ["township", "month"])
    sums = [c for c in findings.columns if c in rules.FINDING_LABELS]
    by_place = findings.group_by("township", "month").agg(
        *[pl.col(c).sum() for c in sums], requests=pl.col("request_id").n_unique(),
        applications=(pl.col("purpose") == "application").sum(),
        reviews=(pl.col("purpose") != "application").sum()).sort("township", "month")
    return Effect(start, end, area, requests, changes, findings, by_program, by_place)


def monthly_totals(effect: Effect) -> pl.DataFrame:
    """Per month over every township and program: decision changes by direction, monthly amount saved and added."""
    if effect.by_program.is_empty():
        return pl.DataFrame()
    cols = [d.value for d in rules.Direction if d != rules.Direction.UNCHANGED]
    return effect.by_program.group_by("month").agg(*[pl.col(c).sum() for c in (*cols, "saved", "added")]).sort("month")
