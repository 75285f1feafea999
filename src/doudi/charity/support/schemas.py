"""Pydantic models of the support API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class GoalIn(BaseModel):
    """One goal of a plan."""

    area: str = Field(description="income、health、education 或 employment")
    target: str


class PlanIn(BaseModel):
    """A new support plan."""

    household_id: int
    worker_name: str
    worker_phone: str = ""
    partner_key: str | None = None
    need_id: int | None = None
    opened_on: date
    goals: list[GoalIn]


class OutcomeIn(BaseModel):
    """A training referral's outcome."""

    version: int
    outcome: str
    employer: str = ""
    monthly_wage: str = ""


class ItemIn(BaseModel):
    """A pledged item."""

    kind: str
    description: str
    due_on: date
    value: str = "0"


class PairingIn(BaseModel):
    """A signed pairing agreement."""

    partner_key: str
    company_name: str
    household_id: int
    pledge: str
    signed_on: date
    start_on: date
    end_on: date
    items: list[ItemIn] = []


class DeliveryIn(BaseModel):
    """An item's delivery."""

    version: int
    delivered_on: date
    note: str
