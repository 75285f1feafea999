"""Policy JSON API: evaluate a household, evaluate a registry household, list parameters, simulate."""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from doudi.core.errors import FieldError, PermissionDenied, ValidationFailed
from doudi.core.validation import Id
from doudi.deps import ApiActor, SessionDep
from doudi.policy import service
from doudi.policy.registry_frames import read_registry
from doudi.policy.schemas import EvaluationRequest, EvaluationResult, ParametersOut
from doudi.policy.service import parameter_rows
from doudi.policy.simulate import check_overrides, simulate

router = APIRouter(tags=["policy"])


@router.post("/evaluations", response_model=EvaluationResult)
def create_evaluation(body: EvaluationRequest, actor: ApiActor) -> Response:
    """Evaluate every program for the household in the body on `date` (permission evaluation.run)."""
    actor.require("evaluation.run")
    if not actor.sees(body.area_code):
        raise PermissionDenied(f"{body.area_code} 不在 {actor.username} 的辖区内")
    # The service already validated the result against EvaluationResult; answering with a Response skips
    # FastAPI validating the same document a second time (the model still documents it in OpenAPI).
    return JSONResponse(service.evaluate(body, body.date))


@router.get("/households/{household_id}/evaluation", response_model=EvaluationResult)
def household_evaluation(household_id: Id, actor: ApiActor, session: SessionDep,
                         date: Date | None = None) -> dict[str, Any]:
    """Evaluate a registry household from its current facts (404 outside the caller's area)."""
    return service.evaluate_registry_household(session, actor=actor, household_id=household_id,
                                               on=date or Date.today())


@router.get("/policy/parameters", response_model=ParametersOut)
def list_parameters(actor: ApiActor, area_code: str = Query("", description="默认为本人辖区"),
                    date: Date | None = None) -> ParametersOut:
    """The parameters in force for an area (default: the caller's) on a date; provisional ones flagged."""
    actor.require("policy.read")
    return parameter_rows(area_code or actor.area_code, date or Date.today())


class SimulationRequest(BaseModel):
    """Parameter changes to simulate over the caller's area."""

    date: Date
    overrides: dict[str, Any] = Field(min_length=1, description="如 {\"dibao.standard.rural\": 600}")
    area_code: str = Field("", description="默认为本人辖区")


@router.post("/simulations")
def create_simulation(body: SimulationRequest, actor: ApiActor, session: SessionDep) -> dict[str, Any]:
    """Reform simulation over the registry households of the caller's area (permission evaluation.simulate)."""
    actor.require("evaluation.simulate")
    area = body.area_code or actor.area_code
    if not actor.sees(area):
        raise PermissionDenied(f"{area} 不在辖区内")
    overrides = check_overrides(body.overrides)
    frames = read_registry(session.connection(), on=body.date, area_prefix=area)
    if len(frames) == 0:
        raise ValidationFailed([FieldError(field="area_code", message="范围内没有家庭档案")])
    return simulate(frames, body.date, overrides).to_json()
