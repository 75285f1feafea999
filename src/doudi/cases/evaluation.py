"""The bridge from cases to the policy engine: evaluate a registered household (plus any temporary need)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from doudi.core.errors import FieldError, ValidationFailed
from doudi.policy.engine import evaluate_frames
from doudi.policy.explain import household_json
from doudi.policy.frames import Frames
from doudi.policy.params import PackError
from doudi.policy.registry_frames import read_registry
from doudi.policy.schemas import EvaluationResult


def evaluate_household(session: Session, *, household_id: int, on: date,
                       temporary_need: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every program's decision for the household from its registry facts — the single-case path of the
    batch reader — with the application's temporary need added."""
    frames = read_registry(session.connection(), on=on, household_ids=[household_id])
    if temporary_need:
        frames = Frames(frames.households.with_columns(
            pl.lit(temporary_need["kind"], pl.String).alias("need_kind"),
            pl.lit(float(temporary_need["amount"]), pl.Float64).alias("need_amount"),
        ), frames.members)
    try:
        decisions = evaluate_frames(frames, on)
    except PackError as exc:
        raise ValidationFailed([FieldError("area_code", str(exc))]) from None
    return EvaluationResult.model_validate(household_json(decisions, household_id)).model_dump(mode="json")


def proposed_programs(result: dict[str, Any]) -> list[str]:
    """Programs the engine finds the household eligible for."""
    return [key for key, out in result.get("programs", {}).items() if out.get("eligible")]
