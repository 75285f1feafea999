"""Pydantic models of the monitoring API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WarningRead(BaseModel):
    """One warning of the ledger (ID number masked)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_key: str
    level: str
    status: str
    discovery: bool
    person_id: int | None
    household_id: int | None
    area_code: str
    person_name: str
    id_number: str
    reason: str
    values: dict[str, Any]
    evidence: list[dict[str, Any]]
    pack_version: str
    first_seen_on: date
    last_seen_on: date
    due_on: date
    disposition: str | None
    note: str
    version: int


class WarningPage(BaseModel):
    """A page of the ledger."""

    total: int
    page: int
    items: list[WarningRead]


class WarningAction(BaseModel):
    """Assign, verify, dispose or close a warning, with the version seen."""

    action: Literal["assign", "verify", "dispose", "close"]
    version: int | None = None
    note: str = ""
    disposition: str = ""
    target_key: str = ""
    target_kind: Literal["agency", "partner"] = "agency"


class LeadApplication(BaseModel):
    """Turn a lead into an application, with the warning's version seen."""

    version: int | None = None


class ReferralCreate(BaseModel):
    """Refer a warning's subject to an agency (by its data-source key) or a partner."""

    warning_id: int
    target_kind: Literal["agency", "partner"] = "agency"
    target_key: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=1000)


class RunCreate(BaseModel):
    """Start a comparison run."""

    on: date | None = Field(default=None, description="比对日期，默认今天")
    area: str = ""


class RunRead(BaseModel):
    """What a run found per rule."""

    run_id: int | None
    on: date
    new: int
    batches: list[int]
    counts: dict[str, dict[str, int]]


class ReferralRead(BaseModel):
    """One referral."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    warning_id: int | None
    household_id: int | None
    area_code: str
    target_kind: str
    target_key: str
    purpose: str
    status: str
    due_on: date
    acknowledged_on: date | None
    answered_on: date | None
    result: str
    version: int


class ReferralAnswer(BaseModel):
    """The receiving agency acknowledges or records its result."""

    acknowledge_only: bool = False
    result: str = ""
    version: int | None = None
