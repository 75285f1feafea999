"""Evaluation services: single households (JSON contract or registry), batch assessment runs.

``evaluate(household, date)`` returns, for every program, eligible, amount, level, reasons, legal
references and a trace; see :mod:`doudi.policy.schemas` for the contract.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.validation import message_of
from doudi.policy.engine import evaluate_frames
from doudi.policy.explain import household_json
from doudi.policy.frames import from_json
from doudi.policy.params import PackError, load_pack
from doudi.policy.registry_frames import read_registry
from doudi.policy.schemas import EvaluationResult, HouseholdIn, ParameterOut, ParametersOut
from doudi.registry.models import Household


def field_errors(exc: ValidationError, *, row: int | None = None) -> list[FieldError]:
    """Every Pydantic error as a FieldError with a dotted field path."""
    return [FieldError(field=".".join(str(p) for p in e["loc"]) or "(根)", message=message_of(e), row=row)
            for e in exc.errors()]


def parse_households(raw: str | bytes) -> tuple[list[HouseholdIn], bool, date | None]:
    """Parse a JSON object or list of households; ValidationFailed lists every field error."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed([FieldError(field="(JSON)", message=f"不是有效的 JSON：{exc.msg}（第 {exc.lineno} 行，"
                                                                     f"第 {exc.colno} 列）")]) from None
    many = isinstance(data, list)
    items = data if many else [data]
    errors: list[FieldError] = []
    out: list[HouseholdIn] = []
    dates: set[date] = set()
    for i, item in enumerate(items):
        if isinstance(item, dict) and "date" in item:
            item = dict(item)
            try:
                dates.add(date.fromisoformat(str(item.pop("date"))))
            except ValueError:
                errors.append(FieldError(field="date", message="应为 YYYY-MM-DD 日期", row=i if many else None))
        try:
            out.append(HouseholdIn.model_validate(item))
        except ValidationError as exc:
            errors.extend(field_errors(exc, row=i if many else None))
    if errors:
        raise ValidationFailed(errors)
    return out, many, (dates.pop() if len(dates) == 1 else None)


def evaluate(household: HouseholdIn, on: date) -> dict[str, Any]:
    """Evaluate every program for one household on one date (a one-household batch)."""
    return evaluate_many([household], on)[0]


def evaluate_many(households: Sequence[HouseholdIn], on: date) -> list[dict[str, Any]]:
    """Evaluate several JSON households in one vectorised batch; results in input order."""
    ids = [h.household_id if h.household_id is not None else i for i, h in enumerate(households)]
    if len(set(ids)) != len(ids):
        raise ValidationFailed([FieldError(field="household_id", message="household_id 重复")])
    try:
        decisions = evaluate_frames(from_json(households), on)
    except PackError as exc:
        raise ValidationFailed([FieldError(field="area_code", message=str(exc))]) from None
    out = []
    for hid, h in zip(ids, households, strict=True):
        result = household_json(decisions, hid)
        if h.household_id is None:
            result["household_id"] = None
        # Validating against the published model keeps the output and the OpenAPI contract identical.
        out.append(EvaluationResult.model_validate(result).model_dump(mode="json"))
    return out


def evaluate_registry_household(session: Session, *, actor: Actor, household_id: int, on: date) -> dict[str, Any]:
    """Evaluate a registry household from its current facts (single-case path of the batch reader)."""
    get_in_area(session, Household, household_id, actor=actor, action="evaluation.run", label="household")
    frames = read_registry(session.connection(), on=on, household_ids=[household_id])
    decisions = evaluate_frames(frames, on)
    result = household_json(decisions, household_id)
    return EvaluationResult.model_validate(result).model_dump(mode="json")


def parameter_rows(area_code: str, on: date) -> ParametersOut:
    """Every parameter in force for an area on a date."""
    try:
        pack = load_pack(area_code)
    except (PackError, ValueError) as exc:
        raise ValidationFailed([FieldError(field="area_code", message=str(exc))]) from None
    rows = []
    for key in pack.names():
        prm = pack.param(key)
        value = prm.at(on, None)
        if value is None:
            continue
        src = prm.source_on(on)
        rows.append(ParameterOut(key=key, value=value, unit=src.unit, ref=src.ref, region=src.region,
                                 provisional=src.provisional, note=src.note))
    return ParametersOut(region=pack.region, name=pack.name, version=pack.version, date=on, parameters=rows)
