"""Feed batches and their quarantined rows, and the clerical review queue (人工复核) of uncertain matches."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import claim
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry.models import Person
from doudi.verification.models import FeedRecord, LinkReview, MatchMethod, ReviewStatus


def list_batches(session: Session, *, actor: Actor, source_key: str = "", limit: int = 200) -> list[IngestBatch]:
    """Feed batches in the actor's area, newest first."""
    actor.require("feed.read")
    stmt = select(IngestBatch).where(IngestBatch.kind == "feed", area_clause(IngestBatch.area_code, actor))
    if source_key:
        stmt = stmt.where(IngestBatch.source_key == source_key)
    return list(session.scalars(stmt.order_by(IngestBatch.id.desc()).limit(limit)))


def get_batch(session: Session, *, actor: Actor, batch_id: int) -> IngestBatch:
    """One feed batch within the actor's area."""
    actor.require("feed.read")
    batch = session.get(IngestBatch, batch_id)
    if batch is None or batch.kind != "feed" or not actor.sees(batch.area_code):
        raise NotFound(f"batch {batch_id}")
    return batch


def rejects(session: Session, *, actor: Actor, batch_id: int, page: int = 1, per_page: int = 100
            ) -> tuple[list[RejectedRow], int]:
    """A page of a batch's quarantined rows, in row order, and their total."""
    get_batch(session, actor=actor, batch_id=batch_id)
    total = session.scalar(select(func.count()).select_from(RejectedRow).where(RejectedRow.batch_id == batch_id)) or 0
    rows = session.scalars(select(RejectedRow).where(RejectedRow.batch_id == batch_id)
                           .order_by(RejectedRow.row_number).limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), int(total)


LINK_DETAILS = ("matched_by_id", "pending_linkage", "probabilistic_rows", "review_identities", "candidates",
                "unmatched_rows")


def shows_links(actor: Actor, batch: IngestBatch) -> bool:
    """Whether the actor may see how a batch's rows were linked. An area batch links only to people of its
    own area, which its viewers see anyway; a national batch's counts would tell an area user that an ID
    is registered somewhere else, so they are for the system administrator only."""
    return actor.system or not batch.national


def match_counts(session: Session, *, actor: Actor, batch: IngestBatch) -> dict[str, int]:
    """How the batch's rows were linked: {match_method: rows} (empty when the actor may not see it)."""
    if not shows_links(actor, batch):
        return {}
    rows = session.execute(select(FeedRecord.match_method, func.count()).where(FeedRecord.batch_id == batch.id)
                           .group_by(FeedRecord.match_method)).all()
    return {m: int(n) for m, n in rows}


def batch_details(actor: Actor, batch: IngestBatch) -> dict[str, object]:
    """The batch's details as the actor may see them (link counts only where match counts are shown)."""
    details = dict(batch.details or {})
    if not shows_links(actor, batch):
        for key in LINK_DETAILS:
            details.pop(key, None)
    return details


def list_reviews(session: Session, *, actor: Actor, status: str = "pending", limit: int = 200
                 ) -> list[tuple[LinkReview, Person]]:
    """Review items whose candidate lives in the actor's area, most probable first."""
    actor.require("linkage.review")
    stmt = (select(LinkReview, Person).join(Person, Person.id == LinkReview.candidate_person_id)
            .where(area_clause(LinkReview.area_code, actor)))
    if status:
        stmt = stmt.where(LinkReview.status == status)
    stmt = stmt.order_by(LinkReview.probability.desc(), LinkReview.id).limit(limit)
    return [(r, p) for r, p in session.execute(stmt)]


def decide_review(session: Session, *, actor: Actor, review_id: int, accept: bool, note: str = "",
                  version: int | None = None) -> LinkReview:
    """Accept (link the rows to the candidate) or reject (leave them unlinked); audited, decided once."""
    actor.require("linkage.review")
    review = session.get(LinkReview, review_id)
    if review is None or not actor.sees(review.area_code):
        raise NotFound(f"review {review_id}")
    claim(session, review, version, label="该匹配")
    if review.status != ReviewStatus.PENDING:
        raise Conflict(f"该匹配已于 {review.decided_at} 处理（{review.status}）")
    if len(note) > 200:
        raise ValidationFailed([FieldError("note", "说明不超过 200 字")])
    review.status = ReviewStatus.ACCEPTED if accept else "rejected"
    review.decided_by, review.decided_at, review.note = actor.user_id, datetime.now(UTC), note
    values = ({"person_id": review.candidate_person_id, "match_method": MatchMethod.CLERICAL.value} if accept
              else {"match_method": MatchMethod.NONE.value, "probability": None})
    session.execute(update(FeedRecord).where(FeedRecord.batch_id == review.batch_id,
                                             FeedRecord.row_number.in_(review.row_numbers)).values(**values))
    session.flush()
    audit.record(session, actor=actor, action="linkage.review", object_type="link_review", object_id=review.id,
                 area_code=review.area_code,
                 after={"status": review.status, "person_id": review.candidate_person_id, "note": note},
                 extra={"batch_id": review.batch_id, "rows": len(review.row_numbers),
                        "probability": round(review.probability, 4)})
    return review
