"""The bridge from cases to the policy engine: evaluate a registered household on a date."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session


def evaluate_household(session: Session, *, household_id: int, on: date,
                       temporary_need: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every program's decision for the household, from its registry facts (the policy engine's output JSON)."""
    from doudi.policy.household import evaluate_registered

    return evaluate_registered(session, household_id=household_id, on=on, temporary_need=temporary_need)


def proposed_programs(result: dict[str, Any]) -> list[str]:
    """Programs the engine finds the household eligible for."""
    return [key for key, out in result.get("programs", {}).items() if out.get("eligible")]
