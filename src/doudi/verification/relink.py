"""Re-link stored feed rows to the registry as it is now: a batch job over frames, idempotent and audited.

A feed is linked when it arrives, so a person registered afterwards (a new application, a household
split) has no feed rows until the feed is re-linked. For each finished batch:
1. exact ID: the batch's ID numbers are read from its payload as one column and joined with the
   registry's; matching rows still unlinked ('none') are linked by ID;
2. probabilistic (unless turned off): rows without a usable ID that ended unmatched are resolved again
   with the same model and thresholds as at ingest; pairs a clerk has rejected are not proposed again.
Rows already linked, or waiting in the review queue, are never touched, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.verification import payload
from doudi.verification.ingest import registry_ids
from doudi.verification.models import FeedRecord, MatchMethod
from doudi.verification.reach import link_prefix
from doudi.verification.resolve import resolve_batch

_CHUNK = 5_000  # row numbers per IN (...) lookup


@dataclass
class RelinkOutcome:
    """What one relink run changed."""

    batches: int = 0
    id_rows: int = 0  # rows newly linked by exact ID
    probabilistic_rows: int = 0  # rows newly linked by the linkage model
    review_identities: int = 0  # identities newly queued for clerical review
    by_batch: dict[int, dict[str, int]] = field(default_factory=dict)


def _unlinked(session: Session, batch_id: int, numbers: list[int]) -> set[int]:
    """Those of the row numbers that are not linked to anyone and not waiting for a decision."""
    out: set[int] = set()
    for i in range(0, len(numbers), _CHUNK):
        part = numbers[i:i + _CHUNK]
        out.update(session.scalars(select(FeedRecord.row_number).where(
            FeedRecord.batch_id == batch_id, FeedRecord.row_number.in_(part), FeedRecord.person_id.is_(None),
            FeedRecord.match_method == MatchMethod.NONE)))
    return out


def _link_ids(session: Session, batch: IngestBatch, persons: pl.DataFrame) -> int:
    """Link the batch's unlinked rows whose valid ID number is now in the registry; returns the row count."""
    ids = payload.read(session, batch, columns=["id_number"]).drop_nulls("id_number")
    found = ids.join(persons, on="id_number")  # frame join: only rows of registered persons remain
    if found.height == 0:
        return 0
    free = _unlinked(session, batch.id, found["row_number"].to_list())
    found = found.filter(pl.col("row_number").is_in(sorted(free)))
    if found.height:
        t: Any = FeedRecord.__table__
        session.execute(update(t).where(t.c.batch_id == bindparam("b"), t.c.row_number == bindparam("n"),
                                        t.c.person_id.is_(None))
                        .values(person_id=bindparam("pid"), match_method=MatchMethod.ID, probability=1.0),
                        [{"b": batch.id, "n": n, "pid": pid} for n, pid in found.select("row_number", "person_id")
                         .iter_rows()])
    return found.height


def relink(session: Session, *, actor: Actor, source_key: str = "", probabilistic: bool = True,
           progress: Callable[[IngestBatch], None] | None = None) -> RelinkOutcome:
    """Link every finished feed batch in the actor's area (or of one source) to the current registry."""
    actor.require("feed.ingest")
    stmt = select(IngestBatch).where(IngestBatch.kind == "feed", IngestBatch.status == BatchStatus.DONE)
    if source_key:
        stmt = stmt.where(IngestBatch.source_key == source_key)
    batches = [b for b in session.scalars(stmt.order_by(IngestBatch.id)) if actor.sees(b.area_code)]
    persons: dict[str | None, pl.DataFrame] = {}  # per jurisdiction: each batch links to its own area's people
    out = RelinkOutcome(batches=len(batches))
    for batch in batches:
        prefix = link_prefix(batch)
        if prefix not in persons:
            persons[prefix] = registry_ids(session, prefix)
        by_id = _link_ids(session, batch, persons[prefix])
        linked = review = 0
        if probabilistic:
            # Unmatched rows without a usable number go back to 'pending' for the resolver, inside this
            # transaction; what it cannot place returns to 'none'.
            session.execute(update(FeedRecord).where(FeedRecord.batch_id == batch.id,
                                                     FeedRecord.match_method == MatchMethod.NONE,
                                                     FeedRecord.id_number.is_(None))
                            .values(match_method=MatchMethod.PENDING))
            resolved = resolve_batch(session, actor=actor, batch_id=batch.id)
            linked, review = resolved.linked_rows, resolved.review_identities
        out.id_rows += by_id
        out.probabilistic_rows += linked
        out.review_identities += review
        counts = {"id_rows": by_id, "probabilistic_rows": linked, "review_identities": review}
        out.by_batch[batch.id] = counts
        if by_id or linked or review:
            audit.record(session, actor=actor, action="feed.relink", object_type="ingest_batch", object_id=batch.id,
                         area_code=batch.area_code, extra={"source": batch.source_key, **counts})
        if progress:
            progress(batch)
    session.flush()
    return out
