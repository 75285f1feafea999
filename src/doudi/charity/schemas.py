"""Typed commands and API shapes of the charity domain (amounts in integer fen)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OfferKind = Literal["cash", "goods", "services", "insurance", "housing_repair", "training", "jobs"]
PartnerKindName = Literal["charity", "social_work", "company", "community"]
SourceName = Literal["case", "warning", "lead", "refusal", "gap"]


class PartnerCreate(BaseModel):
    """A partner to register: key, name, kind, contact, service area, offers and capacity per offer."""

    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="机构代码（账户的所属机构）")
    name: str = Field(min_length=1, max_length=120)
    kind: PartnerKindName
    contact: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=20)
    area_code: str = Field(min_length=6, max_length=12, description="服务区域（区划代码）")
    offers: list[OfferKind] = Field(min_length=1)
    capacity: dict[OfferKind, int] = Field(default_factory=dict)
    active: bool = True


class PartnerRead(PartnerCreate):
    """A partner as listed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int


class NeedCreate(BaseModel):
    """A need to raise for a household: where it comes from, its kind, amount (fen) or size, and deadline."""

    household_id: int = Field(gt=0)
    source: SourceName = "gap"
    source_id: int | None = Field(default=None, gt=0)
    kind: OfferKind
    amount_fen: int | None = Field(default=None, ge=0, le=10**11)
    size: str = Field(default="", max_length=64)
    description: str = Field(default="", max_length=2000)
    deadline: date


class NeedRead(BaseModel):
    """A need as shown: the household's contact masked unless the reader may and asks to unmask."""

    id: int
    household_id: int
    area_code: str
    source: str
    kind: str
    amount_fen: int | None
    size: str
    description: str
    deadline: date
    status: str
    partner_key: str | None
    consent_id: int | None
    result: str
    delivered_fen: int | None
    version: int
    head_name: str = ""
    id_number: str = ""
    phone: str = ""
    disability: str = ""


class NeedPage(BaseModel):
    """One page of the needs ledger."""

    total: int
    page: int
    items: list[NeedRead]


class NeedAction(BaseModel):
    """An action on a need: propose, confirm (a match), reject (a proposal), accept, decline, deliver, close."""

    action: Literal["propose", "confirm", "reject", "accept", "decline", "deliver", "close"]
    version: int | None = None
    match_id: int | None = None
    reason: str = Field(default="", max_length=2000)
    delivered_fen: int | None = Field(default=None, ge=0, le=10**11)


class ConsentRead(BaseModel):
    """A consent as recorded."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    household_id: int
    purpose: str
    method: str
    status: str
    signed_by: str
    given_on: date
    withdrawn_on: date | None
    version: int


class MatchRead(BaseModel):
    """A proposal for a need."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    need_id: int
    partner_key: str
    rank: int
    status: str
    due_on: date | None
    reason: str
    version: int
