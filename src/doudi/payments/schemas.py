"""Pydantic models of the payment API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class RollCreate(BaseModel):
    """Generate a county's roll for a month and program."""

    area_code: str = Field(min_length=6, max_length=6)
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    program: str


class RollApprove(BaseModel):
    """Approve with the version the checker saw."""

    version: int


class RollRead(BaseModel):
    """A roll with its totals and state."""

    id: int
    area_code: str
    month: date
    program: str
    status: str
    line_count: int
    total: str
    prepared_by: str
    approved_by: str
    approved_at: datetime | None
    version: int


class LineRead(BaseModel):
    """One payment line, with the ID number and account masked."""

    id: int
    payee_key: str
    payee_name: str
    id_number: str
    program: str
    component: str
    entitlement_month: date
    amount: str
    account_no: str
    bank_name: str
    status: str
    reason: str
    rule: str


class AccountCreate(BaseModel):
    """A new or changed payee account, to be confirmed by a second person."""

    payee_key: str
    area_code: str
    holder_name: str
    bank_name: str
    account_no: str
    social_security_card: bool = False
