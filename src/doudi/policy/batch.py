"""Batch assessment: evaluate a whole population (registry or Parquet snapshot) and store the decisions
with the pack versions, in one transaction (a crash leaves no partial run)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.frames import write_frame
from doudi.policy.engine import Decisions, evaluate_frames, long_decisions
from doudi.policy.frames import Frames
from doudi.policy.models import AssessmentDecision, AssessmentMemberDecision, AssessmentRun, RunStatus
from doudi.policy.programs import all_programs, keys
from doudi.policy.protocol import Codes


def decision_rows(d: Decisions) -> pl.DataFrame:
    """The long decision frame with reason codes as text and the pack version of each household."""
    long = long_decisions(d)
    versions = {region: pack.version for region, pack in d.packs.items()}
    # long_decisions stacks the programs in order, one household block each: slices, not filters.
    n = d.households.height
    parts = [long.slice(i * n, n).with_columns(reasons=codes_text(prog.codes, long["reasons"].slice(i * n, n)))
             for i, prog in enumerate(all_programs())]
    return pl.concat(parts).with_columns(
        reasons=pl.col("reasons").fill_null(""),
        pack_version=pl.col("pack_region").replace_strict(versions, return_dtype=pl.String),
        monthly_amount=pl.col("monthly_amount").round(2),
    )


def codes_text(codes: Codes, masks: pl.Series) -> pl.Series:
    """The comma-separated codes of each reason mask (as :meth:`Codes.codes_expr`), decoded once per distinct
    mask: a batch has a few hundred distinct masks among a million households."""
    texts = {m: ",".join(r.code for r in codes.decode(m)) for m in masks.unique().to_list() if m is not None}
    return masks.replace_strict(texts, return_dtype=pl.String)


def member_rows(d: Decisions) -> pl.DataFrame:
    """Per-person entitlements: every eligible member of each program that decides per person."""
    m = d.members
    cols = ["household_id", "member_idx", "person_id"]
    parts = []
    for prog in all_programs():
        out = prog.member_output
        if out is None:
            continue
        hours = out.care_hours() if out.care_hours else pl.lit(None, pl.Float64)
        # Lazily, so that only the columns selected are filtered (not the engine's hundred).
        parts.append(m.lazy().filter(pl.col(out.eligible)).select(
            *cols, program=pl.lit(prog.key), monthly_amount=pl.col(out.amount).cast(pl.Float64),
            level=out.level().cast(pl.String), care_hours=hours.cast(pl.Float64)).collect())
    return pl.concat(parts).with_columns(monthly_amount=pl.col("monthly_amount").round(2))


def summarise(long: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Eligible households, persons and monthly cost per program."""
    s = long.filter(pl.col("eligible")).group_by("program").agg(
        households=pl.len(), persons=pl.col("persons").sum(), monthly_cost=pl.col("monthly_amount").sum().round(2))
    found = {r["program"]: r for r in s.to_dicts()}
    return {k: {"households": int(found.get(k, {}).get("households", 0)),
                "persons": int(found.get(k, {}).get("persons", 0)),
                "monthly_cost": float(found.get(k, {}).get("monthly_cost", 0.0))} for k in keys()}


def run_assessment(session: Session, *, actor: Actor, frames: Frames, on: date, source: str,
                   source_detail: str = "", area_prefix: str = "") -> AssessmentRun:
    """Evaluate every household and store the run, its decisions and member entitlements."""
    t0 = time.perf_counter()
    decisions = evaluate_frames(frames, on, skip_unconfigured=True, decisions_only=True)
    if decisions.households.is_empty():
        reasons = sorted(set(decisions.skipped["reason"].to_list())) if decisions.skipped is not None else []
        raise ValidationFailed([FieldError(field="area", message="没有可评估的家庭" + (f"：{'；'.join(reasons)}"
                                                                                     if reasons else ""))])
    return store_assessment(
        session, actor=actor, on=on, source=source, source_detail=source_detail, area_prefix=area_prefix,
        long=decision_rows(decisions), members=member_rows(decisions), skipped=decisions.skipped,
        households=decisions.households.height,
        persons=int(decisions.members["counted"].sum()) if decisions.members.height else 0,
        pack_versions={r: p.version for r, p in decisions.packs.items()}, started=t0)


def store_assessment(session: Session, *, actor: Actor, on: date, source: str, source_detail: str,
                     area_prefix: str, long: pl.DataFrame, members: pl.DataFrame, skipped: pl.DataFrame | None,
                     households: int, persons: int, pack_versions: dict[str, str],
                     started: float | None = None) -> AssessmentRun:
    """Store decisions computed elsewhere (this process, or Spark partitions) as one run, in the caller's
    transaction: the run row, one decision per household and program, the member entitlements, the audit entry."""
    t0 = started if started is not None else time.perf_counter()
    if long.is_empty():
        raise ValidationFailed([FieldError(field="area", message="没有可评估的家庭")])
    summary: dict[str, Any] = summarise(long)
    if skipped is not None and skipped.height:
        # Households of regions without a complete pack are reported, never silently dropped.
        summary["skipped"] = {"households": skipped.height,
                              "reasons": sorted(set(skipped["reason"].to_list())),
                              "household_ids": skipped["household_id"].head(1000).to_list()}
    run = AssessmentRun(eval_date=on, source=source, source_detail=source_detail[:255], area_prefix=area_prefix,
                        status=RunStatus.COMPLETED, households=households, persons=persons,
                        pack_versions=pack_versions, summary=summary, created_by=actor.user_id,
                        created_by_name=actor.username)
    session.add(run)
    session.flush()
    write_frame(session, AssessmentDecision, long.select(
        run_id=pl.lit(run.id), household_id="household_id", area_code="area_code", program="program",
        eligible="eligible", monthly_amount="monthly_amount", level="level", persons="persons", reasons="reasons",
        pack_region="pack_region", pack_version="pack_version"))
    write_frame(session, AssessmentMemberDecision, members.select(
        run_id=pl.lit(run.id), household_id="household_id", member_idx="member_idx", person_id="person_id",
        program="program", monthly_amount="monthly_amount", level="level", care_hours="care_hours"))
    run.finished_at = datetime.now(UTC)
    run.duration_ms = int((time.perf_counter() - t0) * 1000)
    audit.record(session, actor=actor, action="assessment.run", object_type="assessment_run", object_id=run.id,
                 area_code=area_prefix or None,
                 extra={"date": on.isoformat(), "source": source, "households": run.households,
                        "packs": run.pack_versions})
    return run
