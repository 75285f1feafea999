"""Person resolution for feed rows without a usable ID: a batch job over frames, never row by row.

Pending rows are collapsed to distinct identities (a monthly tax feed repeats a person twelve times),
scored against registry persons with the linkage model, and then: linked (auto-accept), queued for
clerical review, or marked as not found.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.core.errors import NotFound
from doudi.db.frames import read_frame, write_frame
from doudi.ingest.models import IngestBatch
from doudi.registry.models import Household, Membership, Person
from doudi.verification import payload
from doudi.verification.linkage.engine import link_frames
from doudi.verification.models import FeedRecord, LinkReview, MatchMethod, ReviewStatus
from doudi.verification.reach import link_prefix

IDENTITY = ["name", "id_given", "birth_date", "sex", "address"]


@dataclass
class ResolveOutcome:
    """Counts of one resolution run."""

    identities: int = 0
    linked_rows: int = 0
    review_identities: int = 0
    unmatched_rows: int = 0
    candidates: int = 0


def registry_persons(session: Session, prefix: str | None = None) -> pl.DataFrame:
    """Registry persons in the linkage layout, with their current household's address and area: those whose
    household lies under `prefix` (the batch's jurisdiction), or everyone (None, a national feed)."""
    stmt = (select(Person.id, Person.name, Person.id_number, Person.birth_date, Person.sex, Household.address,
                   Household.area_code)
            .join(Membership, Membership.person_id == Person.id)
            .join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_to.is_(None)))
    if prefix is not None:
        stmt = under(stmt, Household.area_code, prefix)
    frame = read_frame(session, stmt, schema={"person_id": pl.Int64, "name": pl.Utf8, "id_number": pl.Utf8,
                                              "birth_date": pl.Date, "sex": pl.Utf8, "address": pl.Utf8,
                                              "area_code": pl.Utf8})
    return frame.unique("person_id", keep="first").with_columns(pl.col("person_id").cast(pl.Utf8).alias("record_id"))


def _pending_rows(session: Session, batch: IngestBatch) -> pl.DataFrame:
    """The batch's rows waiting for probabilistic linkage, with their identity columns from the payload."""
    numbers = session.scalars(select(FeedRecord.row_number).where(
        FeedRecord.batch_id == batch.id, FeedRecord.match_method == MatchMethod.PENDING)).all()
    if not numbers:
        return pl.DataFrame()
    rows = payload.read(session, batch, row_numbers=numbers, columns=IDENTITY)
    return rows.with_columns(pl.col(c).cast(pl.Utf8) for c in IDENTITY)


def resolve_batch(session: Session, *, actor: Actor, batch_id: int) -> ResolveOutcome:
    """Link the batch's pending rows to registry persons; the caller commits."""
    actor.require("feed.ingest")
    batch = session.get(IngestBatch, batch_id)
    if batch is None or batch.kind != "feed" or not actor.sees(batch.area_code):
        raise NotFound(f"batch {batch_id}")
    out = ResolveOutcome()
    pending = _pending_rows(session, batch)
    persons = registry_persons(session, link_prefix(batch))
    if pending.height and persons.height:
        identities = pending.group_by(IDENTITY, maintain_order=True).agg(pl.col("row_number").alias("rows")) \
            .with_row_index("record_id").with_columns(pl.col("record_id").cast(pl.Utf8))
        out.identities = identities.height
        left = identities.select("record_id", "name", pl.col("id_given").alias("id_number"), "birth_date", "sex",
                                 "address")
        # Prior: a feed identity is at most one registry person, and at most half of a county's feed
        # identities are registry persons; the floor keeps a tiny registry from inflating the prior.
        result = link_frames(left, persons.select("record_id", "name", "id_number", "birth_date", "sex", "address"),
                             assignment="best_per_left", prior=0.5 / max(persons.height, 1000))
        out.candidates = result.candidates
        refused = _refused(session, batch_id)
        accepted = result.accepted.join(identities, left_on="left_id", right_on="record_id").explode("rows") \
            .join(refused, left_on=["rows", "right_id"], right_on=["row_number", "person"], how="anti")
        if accepted.height:
            write_frame(session, FeedRecord, accepted.select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("rows").alias("row_number"),
                pl.col("right_id").cast(pl.Int64).alias("person_id"), pl.col("match_probability").alias("probability"),
                pl.lit(MatchMethod.PROBABILISTIC.value).alias("match_method")),
                mode="update", match=["batch_id", "row_number"])
            out.linked_rows = accepted.height
        review = result.review.join(identities, left_on="left_id", right_on="record_id")
        if refused.height:  # a pair a clerk has rejected is not put to them again
            seen = review.explode("rows").join(refused, left_on=["rows", "right_id"],
                                               right_on=["row_number", "person"], how="semi")
            review = review.filter(~pl.col("left_id").is_in(seen["left_id"].implode()))
        if review.height:
            # One bulk insert of the review identities and one bulk update of their rows (db.frames).
            areas = persons.select(pl.col("record_id").alias("right_id"), "area_code")
            write_frame(session, LinkReview, review.join(areas, on="right_id", how="left").select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.lit(batch.source_key).alias("source_key"),
                pl.col("rows").alias("row_numbers"), pl.struct(IDENTITY).alias("record"),
                pl.col("right_id").cast(pl.Int64).alias("candidate_person_id"),
                pl.col("area_code").fill_null(""), pl.col("match_probability").cast(pl.Float64).alias("probability"),
                pl.lit(ReviewStatus.PENDING.value).alias("status")))
            write_frame(session, FeedRecord, review.explode("rows").select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("rows").alias("row_number"),
                pl.lit(MatchMethod.REVIEW.value).alias("match_method"),
                pl.col("match_probability").cast(pl.Float64).alias("probability")),
                mode="update", match=["batch_id", "row_number"])
        out.review_identities = review.height
    done = session.execute(update(FeedRecord).where(FeedRecord.batch_id == batch_id,
                                                    FeedRecord.match_method == MatchMethod.PENDING)
                           .values(match_method=MatchMethod.NONE))
    out.unmatched_rows = int(done.rowcount or 0)  # type: ignore[attr-defined]
    counts = {"probabilistic_rows": out.linked_rows, "review_identities": out.review_identities,
              "candidates": out.candidates, "unmatched_rows": out.unmatched_rows}
    batch.details = {**(batch.details or {}), **counts}  # the latest resolution; each run is in the audit log
    audit.record(session, actor=actor, action="feed.resolve", object_type="ingest_batch", object_id=batch_id,
                 area_code=batch.area_code, extra=counts)
    return out


def _refused(session: Session, batch_id: int) -> pl.DataFrame:
    """(row_number, person) pairs of this batch that a clerk rejected in review."""
    rows = session.execute(select(LinkReview.row_numbers, LinkReview.candidate_person_id).where(
        LinkReview.batch_id == batch_id, LinkReview.status == ReviewStatus.REJECTED)).all()
    return pl.DataFrame([(int(n), str(pid)) for numbers, pid in rows for n in numbers],
                        schema={"row_number": pl.Int64, "person": pl.Utf8}, orient="row")

