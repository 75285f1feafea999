"""Input and output models of the care API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class VisitCreate(BaseModel):
    """Book one visit."""

    person_id: int
    caregiver_id: int
    service: str = Field(max_length=24)
    start: datetime
    end: datetime


class CheckIn(BaseModel):
    """A check-in from the caregiver's phone; `key` makes a repeated submission harmless."""

    key: str = Field(min_length=8, max_length=64, description="幂等键：同一次提交重复发送时只记录一次")
    at: datetime | None = Field(None, description="签到时间（缺省为服务器时间）")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class CheckOut(CheckIn):
    """A check-out, with the services done, a note and an optional photo reference."""

    services_done: list[str] = Field(default_factory=list)
    note: str = Field("", max_length=2000)
    photo: str | None = Field(None, max_length=200)


class Review(BaseModel):
    """A supervisor's decision on a flagged visit."""

    accept: bool
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = None


class Reason(BaseModel):
    """A cancellation with its reason."""

    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = None


class VisitRead(BaseModel):
    """A visit as the API returns it (the six EVV elements, status and verification)."""

    id: int
    person_id: int
    provider_key: str
    caregiver_id: int
    service: str
    visit_date: date
    planned_start: datetime
    planned_end: datetime
    status: str
    check_in_at: datetime | None
    check_out_at: datetime | None
    in_lat: float | None
    in_lon: float | None
    out_lat: float | None
    out_lon: float | None
    minutes: int | None
    counted_minutes: int | None
    distance_m: int | None
    flags: list[str]
    reason: str
    version: int


class PayableRead(BaseModel):
    """One provider payable for the payments domain (integer fen and yuan text)."""

    settlement_id: int
    provider_key: str
    provider_name: str
    area_code: str
    month: date
    component: str
    amount_fen: int
    amount: str
