"""Registry API models (input validation messages are Chinese and name the field)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from doudi.core.ids import IdNumberError, parse_id_number
from doudi.registry.vocab import (
    AssetKind,
    ChildStatus,
    DisabilityCategory,
    Employment,
    ExpenseKind,
    IncomeKind,
    LabourCapacity,
    Relation,
    SchoolingStage,
    SupportMode,
)

MemberExclusionKey = Literal["clergy_3y", "imprisoned", "compulsory_rehab", "declared_missing", "other_provincial"]


class MemberRead(BaseModel):
    """A household member as the API shows it (ID number masked)."""

    person_id: int
    name: str
    relation: str
    id_number_masked: str
    sex: str
    birth_date: date
    counted: bool
    version: int


class HouseholdRead(BaseModel):
    """A household as the API shows it."""

    id: int
    household_no: str
    area_code: str
    address: str
    hukou_type: str
    version: int
    members: list[MemberRead] = []


class HouseholdPage(BaseModel):
    """A page of households."""

    items: list[HouseholdRead]
    total: int
    page: int
    per_page: int
    pages: int


class PersonAttributes(BaseModel):
    """Attributes of a person that caseworkers record and correct."""

    phone: str | None = Field(default=None, max_length=20)
    disability_category: DisabilityCategory | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    serious_illness: bool | None = None
    self_care_unable_items: int | None = Field(default=None, ge=0, le=6)
    labour_capacity: LabourCapacity | None = None
    student: bool | None = None
    schooling_stage: SchoolingStage | None = None
    employment: Employment | None = None
    child_status: ChildStatus | None = None
    date_of_death: date | None = None
    no_civil_capacity: bool | None = Field(default=None, description="无民事行为能力（特困人员认定办法第八条第五项）")
    extreme_poverty_supported: bool | None = Field(default=None, description="现为特困供养人员")
    dibao_recipient: bool | None = Field(default=None, description="现为低保对象")
    support_mode: SupportMode | None = Field(default=None, description="特困人员供养方式：集中/分散")
    supporters_elsewhere_able: int | None = Field(default=None, ge=0, le=99,
                                                  description="在外居住、有履行能力的法定义务人数；空 = 未登记")
    supporters_elsewhere_unable: int | None = Field(default=None, ge=0, le=99,
                                                    description="在外居住、无履行能力的法定义务人数（第八条）")
    supporters_elsewhere_unverified: int | None = Field(default=None, ge=0, le=99,
                                                        description="在外居住、履行能力待核实的法定义务人数")


class MemberCreate(PersonAttributes):
    """A member to register: the ID number is validated (GB 11643) and gives birth date and sex."""

    name: str = Field(min_length=1, max_length=64)
    id_number: str
    relation: Relation
    exclusion: MemberExclusionKey | None = None

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, v: str) -> str:
        try:
            return parse_id_number(v).number
        except IdNumberError as exc:
            raise ValueError(str(exc)) from None


class HouseholdCreate(BaseModel):
    """A new household with its members (exactly one head)."""

    household_no: str | None = Field(default=None, max_length=32)
    area_code: str = Field(min_length=9, max_length=12)
    address: str = Field(default="", max_length=200)
    hukou_type: Literal["urban", "rural"]
    members: list[MemberCreate] = Field(min_length=1)

    @field_validator("members")
    @classmethod
    def _one_head(cls, v: list[MemberCreate]) -> list[MemberCreate]:
        heads = sum(1 for m in v if m.relation == Relation.head)
        if heads != 1:
            raise ValueError(f"须有且只有一名户主，实际 {heads} 名")
        numbers = [m.id_number for m in v]
        if len(set(numbers)) != len(numbers):
            raise ValueError("同一身份证号重复出现")
        return v


class HouseholdUpdate(BaseModel):
    """Changes to a household; `version` must be the one the caller last saw (optimistic locking)."""

    version: int
    address: str | None = Field(default=None, max_length=200)
    hukou_type: Literal["urban", "rural"] | None = None
    area_code: str | None = Field(default=None, min_length=9, max_length=12)
    has_capable_supporter: bool | None = Field(default=None, description="有在外居住、具备履行能力的法定义务人（户级）")
    former_registered_poor: bool | None = Field(default=None, description="原建档立卡贫困户")


class PersonUpdate(PersonAttributes):
    """Changes to a person; `version` must be the one the caller last saw."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=64)


class FactCreate(BaseModel):
    """A declared or investigated fact; agency facts arrive through feeds instead."""

    kind: Literal["income", "asset", "expense", "living"]
    item: str = Field(description="收入/财产/支出项目，或生活状况指标")
    person_id: int | None = None
    amount: Decimal | None = Field(default=None, ge=0, description="金额（收入为元/月，支出为期间合计，财产为价值）")
    quantity: int = Field(default=1, ge=0)
    value: str | None = Field(default=None, max_length=64, description="生活状况的取值")
    period_start: date
    period_end: date
    source_kind: Literal["declared", "investigated"] = "declared"
    note: str = Field(default="", max_length=200)
    supersedes: int | None = Field(default=None, description="更正的原记录编号")

    @field_validator("item")
    @classmethod
    def _item(cls, v: str) -> str:
        return v.strip()

    def check(self) -> None:
        """Cross-field checks that need the kind."""
        allowed = {"income": {e.value for e in IncomeKind}, "asset": {e.value for e in AssetKind},
                   "expense": {e.value for e in ExpenseKind}}.get(self.kind)
        if allowed is not None and self.item not in allowed:
            raise ValueError(f"item 应为 {sorted(allowed)} 之一")
        if self.kind in {"income", "expense"} and self.amount is None:
            raise ValueError("amount 必填")
        if self.kind == "living" and not self.value:
            raise ValueError("value 必填")
        if self.period_end < self.period_start:
            raise ValueError("period_end 早于 period_start")


class RevisionRead(BaseModel):
    """One recorded change with its before/after values (masked unless the caller may unmask)."""

    id: int
    object_type: str
    object_id: int
    action: str
    before: dict[str, object]
    after: dict[str, object]
    by_name: str
    reverted_by: int | None
