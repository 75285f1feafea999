"""Pydantic models of the fund's API (amounts in yuan as text, two decimals)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class DonationIn(BaseModel):
    """A donation with its receipt."""

    area_code: str = Field(min_length=6, max_length=6, description="基金所属县级区划代码")
    receipt_no: str = Field(min_length=1, max_length=40)
    donor_name: str = Field(min_length=1, max_length=100)
    donor_kind: str = "person"
    donor_contact: str = ""
    amount: str = Field(description="金额（元）")
    purpose: str
    restricted: bool = False
    restrictions: str = ""
    received_on: date


class GrantIn(BaseModel):
    """A proposed grant."""

    amount: str = Field(description="金额（元）")
    purpose: str
    pool: str
    reason: str
    need_id: int | None = None
    case_id: int | None = None
    household_id: int | None = None


class Decision(BaseModel):
    """A checker's decision on a grant, with the version seen."""

    version: int
    approve: bool
    note: str = ""


class GrantOut(BaseModel):
    """A grant as the API returns it."""

    id: int
    area_code: str
    amount: str
    purpose: str
    pool: str
    status: str
    need_id: int | None
    case_id: int | None
    household_id: int | None
    policy_id: int | None
    made_by: str
    decided_by: str
    version: int
