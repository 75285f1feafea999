"""Registry API models."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class MemberRead(BaseModel):
    """A household member as the API shows it (ID number masked)."""

    person_id: int
    name: str
    relation: str
    id_number_masked: str
    sex: str
    birth_date: date
    counted: bool


class HouseholdRead(BaseModel):
    """A household as the API shows it."""

    id: int
    household_no: str
    area_code: str
    address: str
    hukou_type: str
    members: list[MemberRead] = []


class HouseholdPage(BaseModel):
    """A page of households."""

    items: list[HouseholdRead]
    total: int
    page: int
    per_page: int
    pages: int
