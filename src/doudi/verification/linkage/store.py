"""Trained linkage models stored per source, with their version: trained once, reused by later runs.

A source trains afresh when it has no model of the current comparisons (engine.model_version), or when
reviewers have decided pairs of its batches since its model was trained: their confirmed pairs are labels
of the next training, so a reviewer's decisions feed the model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.verification.models import LinkageModel, LinkReview, ReviewStatus


def current(session: Session, *, source_key: str, model_version: str) -> LinkageModel | None:
    """The source's latest stored model of this model version, if any."""
    return session.scalars(select(LinkageModel).where(
        LinkageModel.source_key == source_key, LinkageModel.model_version == model_version)
        .order_by(LinkageModel.version.desc()).limit(1)).first()


def decided_since(session: Session, *, source_key: str, since: datetime | None) -> int:
    """Review decisions on the source's pairs since a moment (all of them when None)."""
    stmt = select(func.count()).select_from(LinkReview).where(
        LinkReview.source_key == source_key, LinkReview.status != ReviewStatus.PENDING)
    if since is not None:
        stmt = stmt.where(LinkReview.decided_at > since)
    return int(session.scalar(stmt) or 0)


def confirmed_pairs(session: Session, *, source_key: str) -> pl.DataFrame:
    """Pairs reviewers accepted for the source: the feed identity as recorded and the person it is."""
    rows = session.execute(select(LinkReview.record, LinkReview.candidate_person_id).where(
        LinkReview.source_key == source_key, LinkReview.status == ReviewStatus.ACCEPTED)).all()
    return pl.DataFrame([{**{k: (None if v is None else str(v)) for k, v in (rec or {}).items()},
                          "person_id": str(pid)} for rec, pid in rows],
                        schema={"name": pl.Utf8, "id_given": pl.Utf8, "birth_date": pl.Utf8, "sex": pl.Utf8,
                                "address": pl.Utf8, "person_id": pl.Utf8})


def save(session: Session, *, source_key: str, model_version: str, settings: dict[str, Any], records: int,
         labels: int) -> LinkageModel:
    """Store a newly trained model as the source's next version (unique per source: two concurrent trainings
    cannot both store the same version)."""
    last = session.scalar(select(func.max(LinkageModel.version)).where(LinkageModel.source_key == source_key))
    row = LinkageModel(source_key=source_key, version=int(last or 0) + 1, model_version=model_version,
                       records=records, labels=labels, settings=settings)
    session.add(row)
    session.flush()
    return row
