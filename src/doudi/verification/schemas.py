"""Pydantic shapes of the verification API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ColumnRead(BaseModel):
    """A declared feed column."""

    name: str
    type: str
    required: bool
    label: str
    values: list[str] = []


class SourceRead(BaseModel):
    """A data source and its schema."""

    key: str
    label: str
    agency: str
    yields: str
    columns: list[ColumnRead]


class BatchRead(BaseModel):
    """A feed batch and its lineage."""

    id: int
    source_key: str
    file_name: str
    file_sha256: str
    started_at: datetime | None
    finished_at: datetime | None
    rows_total: int
    rows_ok: int
    rows_rejected: int
    rows_duplicate: int = 0
    status: str
    area_code: str | None
    national: bool = False
    details: dict[str, object]
    already: bool = False
    match_counts: dict[str, int] = {}


class RejectRead(BaseModel):
    """A quarantined row."""

    row_number: int
    field: str
    reason: str
    raw: dict[str, object]


class ReviewRead(BaseModel):
    """An uncertain match waiting for a clerk."""

    id: int
    batch_id: int
    source_key: str
    record: dict[str, object]
    rows: int
    candidate_person_id: int
    candidate_name: str
    probability: float
    status: str
    kind: str = "match"  # match | double_registration (two valid ID numbers, same name, sex and birth date)
    id_kind: str = ""  # the ID comparison's level
    evidence: dict[str, str] = {}  # 身份证号/姓名/… → the level, in Chinese


class ReviewDecision(BaseModel):
    """Accept or reject a review item."""

    accept: bool
    note: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1, description="the review item's version as last seen")


class AuthorisationCreate(BaseModel):
    """A member's signed authorisation."""

    household_id: int
    person_id: int
    signed_by_name: str = Field(min_length=1, max_length=64)
    signed_by_relation: str = "self"
    signed_on: date
    document_ref: str = Field(min_length=1, max_length=64)
    scope: list[str] = ["all"]
    valid_until: date | None = None
    application_ref: str | None = None


class AuthorisationRead(AuthorisationCreate):
    """A stored authorisation."""

    id: int
    revoked_on: date | None = None


class RequestCreate(BaseModel):
    """A township's request to verify a household."""

    household_id: int
    requested_on: date | None = None
    purpose: str = "application"
    case_ref: str | None = None


class SourceTrackRead(BaseModel):
    """Status of one source for one request."""

    source_key: str
    label: str
    agency: str
    status: str
    status_label: str
    records: int
    answered_at: datetime | None
    message: str


class RequestRead(BaseModel):
    """A request with its tracking."""

    id: int
    household_id: int
    requested_on: date
    due_on: date
    started_at: datetime | None
    period_start: date
    period_end: date
    status: str
    calendar_note: str
    sources: list[SourceTrackRead]


class ReportRead(BaseModel):
    """The 核对报告 as data."""

    request_id: int
    household_id: int
    months: list[str]
    income_by_month: list[dict[str, object]]
    income_compare: list[dict[str, object]]
    totals: dict[str, object] | None
    asset_compare: list[dict[str, object]]
    statuses: list[dict[str, object]]
    discrepancies: list[dict[str, object]]
    conclusion: str
