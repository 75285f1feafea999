"""Person resolution for feed rows without a usable ID: a batch job over frames, never row by row.

Pending rows are collapsed to distinct identities (a monthly tax feed repeats a person twelve times),
scored against registry persons with the linkage model, and then: linked (auto-accept), queued for
clerical review, or marked as not found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
from doudi.verification.linkage import events, store
from doudi.verification.linkage.engine import link_frames, model_version
from doudi.verification.linkage.events import DoubleRegistration
from doudi.verification.linkage.model import load_config
from doudi.verification.models import FeedRecord, LinkReview, MatchMethod, ReviewKind, ReviewStatus
from doudi.verification.reach import link_prefix
from doudi.verification.sources import load_sources

IDENTITY = ["name", "id_given", "birth_date", "sex", "address"]


@dataclass
class ResolveOutcome:
    """Counts of one resolution run."""

    identities: int = 0
    linked_rows: int = 0
    review_identities: int = 0
    double_registrations: int = 0  # identities queued as a possible double registration
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
        return pl.DataFrame(schema={"row_number": pl.Int64, **dict.fromkeys(IDENTITY, pl.Utf8)})
    rows = payload.read(session, batch, row_numbers=numbers, columns=IDENTITY)
    return rows.with_columns(pl.col(c).cast(pl.Utf8) for c in IDENTITY).select("row_number", *IDENTITY)


def _namesake_rows(session: Session, batch: IngestBatch, persons: pl.DataFrame) -> pl.DataFrame:
    """Rows with a valid ID number nobody in the registry holds, whose name and birth date are a registry
    person's: scored too, so that a person registered under two numbers reaches the review queue.

    Three payload columns are read for the whole batch and joined with the registry first (columnar, cheap
    for a 10M-row feed); only the few rows left are looked up in feed_records and read in full.
    """
    empty = pl.DataFrame(schema={"row_number": pl.Int64, **dict.fromkeys(IDENTITY, pl.Utf8)})
    if persons.height == 0:
        return empty
    keys = payload.read(session, batch, columns=["name", "birth_date", "id_number"]).drop_nulls("id_number")
    keys = keys.with_columns(pl.col(c).cast(pl.Utf8) for c in ("name", "birth_date", "id_number"))
    known = persons.select("name", pl.col("birth_date").cast(pl.Utf8), "id_number")
    hits = keys.join(known.select("name", "birth_date").unique(), on=["name", "birth_date"], how="semi") \
        .join(known.select("id_number"), on="id_number", how="anti")
    if hits.height == 0:
        return empty
    numbers = session.scalars(select(FeedRecord.row_number).where(
        FeedRecord.batch_id == batch.id, FeedRecord.match_method == MatchMethod.NONE,
        FeedRecord.row_number.in_(hits["row_number"].to_list()))).all()
    if not numbers:
        return empty
    rows = payload.read(session, batch, row_numbers=list(numbers), columns=[*IDENTITY, "id_number"])
    return rows.with_columns(pl.col(c).cast(pl.Utf8) for c in [*IDENTITY, "id_number"]) \
        .with_columns(pl.coalesce("id_given", "id_number").alias("id_given")).select("row_number", *IDENTITY)


def _model(session: Session, source_key: str, size: int) -> tuple[dict[str, Any] | None, bool | None, bool]:
    """(stored model, train, store): reuse the source's stored model unless reviewers decided pairs since it
    was trained; train (and store) when the inputs are large enough, else the packaged parameters."""
    version = model_version()
    stored = store.current(session, source_key=source_key, model_version=version)
    fresh = stored is not None and not store.decided_since(session, source_key=source_key, since=stored.trained_at)
    if fresh and stored is not None:
        return stored.settings, None, False
    big = size >= load_config().min_records_to_train
    if big:
        return None, True, True
    return (stored.settings if stored is not None else None), (None if stored is not None else False), False


def resolve_batch(session: Session, *, actor: Actor, batch_id: int) -> ResolveOutcome:
    """Link the batch's pending rows to registry persons; the caller commits."""
    actor.require("feed.ingest")
    batch = session.get(IngestBatch, batch_id)
    if batch is None or batch.kind != "feed" or not actor.sees(batch.area_code):
        raise NotFound(f"batch {batch_id}")
    out = ResolveOutcome()
    persons = registry_persons(session, link_prefix(batch))
    pending = _pending_rows(session, batch)
    namesakes = _namesake_rows(session, batch, persons)
    if (pending.height or namesakes.height) and persons.height:
        rows = pl.concat([pending.with_columns(pl.lit(False).alias("valid_id")),
                          namesakes.with_columns(pl.lit(True).alias("valid_id"))])
        identities = rows.group_by([*IDENTITY, "valid_id"], maintain_order=True) \
            .agg(pl.col("row_number").alias("rows")) \
            .with_row_index("record_id").with_columns(pl.col("record_id").cast(pl.Utf8))
        out.identities = int((~identities["valid_id"]).sum())
        left = identities.select("record_id", "name", pl.col("id_given").alias("id_number"), "birth_date", "sex",
                                 "address")
        # Pairs reviewers confirmed for this source join the left side as labels of a new training (their
        # record ids are marked, and whatever they match is dropped below).
        model, train, keep = _model(session, batch.source_key, min(left.height, persons.height))
        labels = None
        if train:
            confirmed = store.confirmed_pairs(session, source_key=batch.source_key) \
                .join(persons.select(pl.col("record_id").alias("person_id")), on="person_id", how="semi")
            if confirmed.height:
                extra = confirmed.with_row_index("n").select(
                    pl.format("label:{}", "n").alias("record_id"), "name", pl.col("id_given").alias("id_number"),
                    "birth_date", "sex", "address")
                labels = pl.DataFrame({"left_id": extra["record_id"], "right_id": confirmed["person_id"]})
                left = pl.concat([left, extra])
        source = load_sources().get(batch.source_key)
        one_each = source is not None and source.one_row_per_person
        # Prior: a feed identity is at most one registry person, and at most half of a county's feed
        # identities are registry persons; the floor keeps a tiny registry from inflating the prior.
        result = link_frames(left, persons.select("record_id", "name", "id_number", "birth_date", "sex", "address"),
                             assignment="one_to_one" if one_each else "best_per_left",
                             prior=0.5 / max(persons.height, 1000), model=model, train=train, labels=labels)
        if keep and result.trained:
            store.save(session, source_key=batch.source_key, model_version=result.model["doudi_model_version"],
                       settings=result.model, records=min(left.height, persons.height),
                       labels=0 if labels is None else labels.height)
        out.candidates = result.candidates
        plain = identities.filter(~pl.col("valid_id"))
        refused = _refused(session, batch_id)
        accepted = result.accepted.join(plain, left_on="left_id", right_on="record_id").explode("rows") \
            .join(refused, left_on=["rows", "right_id"], right_on=["row_number", "person"], how="anti")
        if accepted.height:
            write_frame(session, FeedRecord, accepted.select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("rows").alias("row_number"),
                pl.col("right_id").cast(pl.Int64).alias("person_id"), pl.col("match_probability").alias("probability"),
                pl.lit(MatchMethod.PROBABILISTIC.value).alias("match_method")),
                mode="update", match=["batch_id", "row_number"])
            out.linked_rows = accepted.height
        areas = dict(zip(persons["record_id"].to_list(), persons["area_code"].to_list(), strict=True))
        review = _unrefused(result.review.join(plain, left_on="left_id", right_on="record_id"), refused)
        double = _unrefused(result.double.join(identities, left_on="left_id", right_on="record_id"), refused)
        items: list[tuple[LinkReview, dict[str, Any]]] = []
        for kind, frame in ((ReviewKind.MATCH, review), (ReviewKind.DOUBLE_REGISTRATION, double)):
            for r in frame.iter_rows(named=True):
                items.append((LinkReview(
                    batch_id=batch_id, source_key=batch.source_key, row_numbers=list(r["rows"]),
                    record={k: r[k] for k in IDENTITY}, candidate_person_id=int(r["right_id"]),
                    area_code=areas.get(r["right_id"], ""), probability=float(r["match_probability"]),
                    status=ReviewStatus.PENDING, kind=kind, id_kind=r["id_kind"] or "",
                    evidence=json.loads(r["evidence"] or "{}")), r))
        session.add_all([item for item, _ in items])
        session.flush()  # one multi-row insert; the ids name the double registrations below
        queued = pl.concat([f.select("rows", "match_probability") for f in (review, double)]).explode("rows")
        if queued.height:
            write_frame(session, FeedRecord, queued.select(
                pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("rows").alias("row_number"),
                pl.col("match_probability").alias("probability"),
                pl.lit(MatchMethod.REVIEW.value).alias("match_method")),
                mode="update", match=["batch_id", "row_number"])
        found = [DoubleRegistration(
            review_id=item.id, batch_id=batch_id, source_key=batch.source_key, row_numbers=tuple(r["rows"]),
            person_id=int(r["right_id"]), area_code=item.area_code, name=r["name"] or "",
            id_given=r["id_given"] or "", probability=item.probability)
            for item, r in items if item.kind == ReviewKind.DOUBLE_REGISTRATION]
        out.review_identities = review.height
        out.double_registrations = double.height
        events.announce(session, actor=actor, found=found)
    done = session.execute(update(FeedRecord).where(FeedRecord.batch_id == batch_id,
                                                    FeedRecord.match_method == MatchMethod.PENDING)
                           .values(match_method=MatchMethod.NONE))
    out.unmatched_rows = int(done.rowcount or 0)  # type: ignore[attr-defined]
    counts = {"probabilistic_rows": out.linked_rows, "review_identities": out.review_identities,
              "double_registrations": out.double_registrations, "candidates": out.candidates,
              "unmatched_rows": out.unmatched_rows}
    batch.details = {**(batch.details or {}), **counts}  # the latest resolution; each run is in the audit log
    audit.record(session, actor=actor, action="feed.resolve", object_type="ingest_batch", object_id=batch_id,
                 area_code=batch.area_code, extra=counts)
    return out


def _unrefused(review: pl.DataFrame, refused: pl.DataFrame) -> pl.DataFrame:
    """Review candidates without the identities a clerk has already rejected for the same person."""
    if not refused.height or not review.height:
        return review
    seen = review.explode("rows").join(refused, left_on=["rows", "right_id"], right_on=["row_number", "person"],
                                       how="semi")
    return review.filter(~pl.col("left_id").is_in(seen["left_id"].implode()))


def _refused(session: Session, batch_id: int) -> pl.DataFrame:
    """(row_number, person) pairs of this batch that a clerk rejected in review."""
    rows = session.execute(select(LinkReview.row_numbers, LinkReview.candidate_person_id).where(
        LinkReview.batch_id == batch_id, LinkReview.status == ReviewStatus.REJECTED)).all()
    return pl.DataFrame([(int(n), str(pid)) for numbers, pid in rows for n in numbers],
                        schema={"row_number": pl.Int64, "person": pl.Utf8}, orient="row")

