"""Case API models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from doudi.core.ids import IdNumberError, parse_id_number
from doudi.registry.schemas import MemberCreate

D = TypeVar("D")

PROGRAMS = ("dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship", "temporary_assistance",
            "child_welfare", "disability_subsidies", "relative_poverty")
Program = Literal["dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship", "temporary_assistance",
                  "child_welfare", "disability_subsidies", "relative_poverty"]


class DeclaredIncome(BaseModel):
    """Monthly income a member declares (yuan per month, average of the last months)."""

    wage: Decimal = Field(default=Decimal(0), ge=0)
    business: Decimal = Field(default=Decimal(0), ge=0)
    property: Decimal = Field(default=Decimal(0), ge=0)
    transfer: Decimal = Field(default=Decimal(0), ge=0)
    basic_pension: Decimal = Field(default=Decimal(0), ge=0)


class ApplicantMember(MemberCreate):
    """A household member as declared on an application, with their verification authorisation."""

    monthly_income: DeclaredIncome = Field(default_factory=DeclaredIncome)
    authorised: bool = Field(default=False, description="已签署家庭经济状况核对授权书")


class DeclaredAssets(BaseModel):
    """Household property as declared (审核确认办法 Art. 14)."""

    financial_assets: Decimal = Field(default=Decimal(0), ge=0)
    residential_properties: int = Field(default=0, ge=0)
    non_residential_properties: int = Field(default=0, ge=0)
    vehicles: int = Field(default=0, ge=0)
    business_registrations: int = Field(default=0, ge=0)


class TemporaryNeed(BaseModel):
    """A temporary-assistance need: emergency (急难) or expenditure (支出)."""

    kind: Literal["emergency", "expenditure"]
    amount: Decimal = Field(gt=0, description="所需救助金额（元）")
    reason: str = Field(min_length=2, max_length=500)


class ApplicationCreate(BaseModel):
    """One application for all programs (一次申请): an existing household or a new one with its members."""

    household_id: int | None = None
    area_code: str | None = Field(default=None, min_length=12, max_length=12, description="村（居）区划代码")
    address: str = Field(default="", max_length=200)
    hukou_type: Literal["urban", "rural"] | None = None
    members: list[ApplicantMember] = Field(default_factory=list)
    assets: DeclaredAssets = Field(default_factory=DeclaredAssets)
    programs: list[Program] = Field(default_factory=list, description="申请人勾选的项目（可空，由系统测算建议）")
    channel: Literal["applicant", "proxy", "discovery", "staff"] = "staff"
    applicant_name: str = Field(min_length=1, max_length=64)
    applicant_id_number: str = ""
    applicant_phone: str = Field(default="", max_length=20)
    proxy_name: str = Field(default="", max_length=64)
    proxy_phone: str = Field(default="", max_length=20)
    proxy_relation: Literal["", "relative", "friend", "village_cadre", "other"] = ""
    close_relative: bool = Field(default=False, description="成员与经办人员或村（居）委会成员有近亲属关系")
    close_relative_note: str = Field(default="", max_length=200)
    temporary_need: TemporaryNeed | None = None
    authorised_all: bool = Field(default=False, description="已登记家庭：全部共同生活成员已签署核对授权书")
    note: str = Field(default="", max_length=1000)

    @field_validator("applicant_id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        if not v:
            return v
        try:
            return parse_id_number(v).number
        except IdNumberError as exc:
            raise ValueError(str(exc)) from None

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field problems, as (field, message)."""
        out = []
        if self.household_id is None:
            if not self.area_code:
                out.append(("area_code", "新家庭须填写所在村（居）"))
            if not self.hukou_type:
                out.append(("hukou_type", "新家庭须填写户口类型"))
            heads = sum(1 for m in self.members if m.relation.value == "head")
            if heads != 1:
                out.append(("members", f"须有且只有一名户主，实际 {heads} 名"))
        if self.channel == "proxy" and not (self.proxy_name and self.proxy_relation):
            out.append(("proxy_name", "代为申请须填写代办人姓名及与申请人的关系"))
        if self.close_relative and not self.close_relative_note:
            out.append(("close_relative_note", "请说明近亲属关系"))
        return out


class StepAction(BaseModel, Generic[D]):
    """An action on the active step; `version` is the case version the user saw, `data` the step's input
    (each step's own model, e.g. ``StepAction[HomeVisitIn]``)."""

    version: int
    action: str = Field(description="complete | objection | close | select")
    data: D = Field(default_factory=dict)  # type: ignore[assignment]  # parsed into the step's model when it acts


class CaseRead(BaseModel):
    """A case as the API shows it."""

    id: int
    case_no: str
    kind: str
    status: str
    area_code: str
    household_id: int | None
    programs: list[str]
    channel: str
    applicant_name: str
    delegated: bool
    accepted_on: date | None
    due_on: date | None
    extended_to: date | None
    version: int
    active_step: str | None
    active_step_due: date | None
    steps: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    submitted_at: datetime
