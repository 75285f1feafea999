"""The evaluation contract (input household, output decisions) as Pydantic models.

These models are the documentation of ``doudi evaluate`` and ``POST /api/v1/evaluations``; the
OpenAPI schema is generated from them. Money is yuan; ``monthly_amount`` is per month for the whole
household (temporary assistance is a one-off payment: its amount is given both as
``monthly_amount`` for the month it is paid and as ``one_off_amount``).
"""

from __future__ import annotations

from datetime import date as Date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from doudi.registry.vocab import DisabilityCategory, MemberExclusion, Relation

ChildStatus = Literal["orphan_institution", "orphan_community", "de_facto_unsupported", "key_hardship", "in_hardship"]
SchoolingStage = Literal["preschool", "primary", "junior_secondary", "senior_high", "secondary_vocational",
                         "higher_vocational", "undergraduate", "postgraduate"]
_STRICT = ConfigDict(extra="forbid")


class Disability(BaseModel):
    """残疾人证: category and grade (1 is the most severe)."""

    model_config = _STRICT
    category: DisabilityCategory
    grade: int = Field(ge=1, le=4)


class MonthlyIncome(BaseModel):
    """A member's average monthly income by kind (yuan/month)."""

    model_config = _STRICT
    wage: float = Field(0.0, ge=0, description="工资性收入（扣除就业成本前）")
    business: float = Field(0.0, ge=0, description="经营净收入")
    property: float = Field(0.0, ge=0, description="财产净收入")
    transfer: float = Field(0.0, ge=0, description="转移净收入（赡养费、离退休金等）")
    basic_pension: float = Field(0.0, ge=0, description="城乡居民基本养老保险基础养老金（不计入收入）")


class SupportersElsewhere(BaseModel):
    """法定赡养、抚养、扶养义务人 living outside the household, as declared for this member (counts)."""

    model_config = _STRICT
    able: int = Field(0, ge=0, description="有履行义务能力的人数")
    unable: int = Field(0, ge=0, description="属特困人员认定办法第八条无履行义务能力情形的人数")
    unverified: int = Field(0, ge=0, description="履行能力尚未核实的人数")


class MemberIn(BaseModel):
    """One person living in the household."""

    model_config = _STRICT
    relation: Relation
    birth_date: Date
    disability: Disability | None = None
    serious_illness: bool = False
    self_care_unable_items: int = Field(0, ge=0, le=6, description="六项自理指标中不能达到的项数")
    student: bool = Field(False, description="在校接受全日制本科及以下学历教育")
    schooling_stage: SchoolingStage | None = Field(None, description="就学阶段")
    child_status: ChildStatus | None = Field(None, description="in_hardship 困境儿童；key_hardship 重点困境儿童")
    monthly_income: MonthlyIncome = Field(default_factory=MonthlyIncome)
    # Optional additions to the fixed contract.
    person_id: int | None = None
    name: str | None = Field(None, description="仅供阅读，不参与测算")
    exclusion: MemberExclusion | None = Field(None, description="审核确认办法第七条第二款不计入共同生活的情形")
    idle_without_reason: bool = Field(False, description="有劳动能力、无正当理由未就业（广东按最低工资折算收入）")
    refused_job_offers: int = Field(0, ge=0, description="连续拒绝介绍工作的次数（第三十四条）")
    extreme_poverty_supported: bool = Field(False, description="目前为特困供养人员")
    support_mode: Literal["centralized", "dispersed"] | None = Field(None, description="供养方式：集中/分散")
    no_civil_capacity: bool = Field(False, description="无民事行为能力（特困人员认定办法第八条第五项）")
    supporters_elsewhere: SupportersElsewhere | None = Field(
        None, description="在外居住的法定义务人；不填表示未登记（不推定为没有义务人）")


class Assets(BaseModel):
    """Household property (审核确认办法 Art. 14)."""

    model_config = _STRICT
    financial_assets: float = Field(0.0, ge=0, description="存款、证券、基金、商业保险等，元")
    residential_properties: int = Field(0, ge=0)
    non_residential_properties: int = Field(0, ge=0)
    vehicles: int = Field(0, ge=0, description="机动车辆数（不含残疾人代步车、摩托车、电动自行车）")
    business_registrations: int = Field(0, ge=0)


class RigidExpenses(BaseModel):
    """Out-of-pocket rigid spending over the last 12 months (yuan)."""

    model_config = _STRICT
    medical: float = Field(0.0, ge=0)
    education: float = Field(0.0, ge=0)
    rehabilitation: float = Field(0.0, ge=0)
    other: float = Field(0.0, ge=0, description="县级民政部门认定的其他刚性支出（认定办法第五条第五项）")


class TemporaryNeed(BaseModel):
    """A request for temporary assistance: 急难型 (emergency) or 支出型 (expenditure)."""

    model_config = _STRICT
    kind: Literal["emergency", "expenditure"]
    amount: float = Field(gt=0, description="困难所需金额（损失或新增必需支出），元")


class LivingConditions(BaseModel):
    """Observed living conditions used by the multi-dimensional assessment."""

    model_config = _STRICT
    unsafe_housing: bool = False
    no_safe_water: bool = False


class HouseholdIn(BaseModel):
    """A household as the rules see it."""

    model_config = _STRICT
    area_code: str = Field(pattern=r"^\d{6}(\d{3})?(\d{3})?$", description="区划代码（县级或更细）")
    hukou_type: Literal["urban", "rural"]
    has_capable_supporter: bool | None = Field(
        None, description="有在外居住、具备履行能力的法定义务人（只说明户外的义务人；不填表示未登记）")
    members: list[MemberIn] = Field(min_length=1)
    assets: Assets = Field(default_factory=Assets)
    rigid_expenses_12m: RigidExpenses = Field(default_factory=RigidExpenses)
    temporary_need: TemporaryNeed | None = None
    # Optional additions to the fixed contract.
    household_id: int | None = None
    receiving_dibao: bool = Field(False, description="目前正在享受低保（用于渐退期判断）")
    dibao_current_amount: float | None = Field(None, ge=0, description="目前每月低保金，渐退期内照发")
    income_above_standard_since: Date | None = Field(None, description="人均收入超过标准（不再符合低保）的起始日期")
    income_rise_cause: Literal["employment", "transfer", "compensation", "other"] | None = Field(
        None, description="收入增加的原因；只有就业才给予渐退期")
    former_registered_poor: bool = Field(False, description="原建档立卡贫困户（安丘：不再符合条件的延期保障 6 个月）")
    living_conditions: LivingConditions = Field(default_factory=LivingConditions)


class EvaluationRequest(HouseholdIn):
    """A household plus the date whose rules apply."""

    date: Date


class ReasonOut(BaseModel):
    """Why: a code, its Chinese explanation and the articles it rests on."""

    code: str
    text: str
    refs: list[str]


class MemberDecision(BaseModel):
    """A per-person decision (特困, children, disability subsidies, 低保 single-person inclusion)."""

    member_index: int
    person_id: int | None = None
    eligible: bool
    monthly_amount: float
    level: str | None = None
    care_level: Literal["self_care", "partial", "full"] | None = None
    care_hours_per_month: float | None = None
    support_status: str | None = Field(
        None, description="特困：法定义务人情况（supporter_in_household 等；pending 待核实）")
    reasons: list[ReasonOut]


class ProgramDecision(BaseModel):
    """One program's decision for the household."""

    key: str
    label: str
    in_force: bool = True
    eligible: bool
    monthly_amount: float = Field(description="元/月，全户合计")
    level: str | None = None
    persons: int = Field(0, description="受益人数")
    reasons: list[ReasonOut]
    refs: list[str]
    trace: dict[str, Any] = Field(default_factory=dict, description="中间值：计算收入、人均收入、所用标准等")
    members: list[MemberDecision] | None = None
    approval_level: Literal["township", "county", "case_by_case"] | None = None
    deadline_hours: float | None = None
    one_off_amount: float | None = None
    review_interval_months: int | None = None
    valid_until: Date | None = None


class PackInfo(BaseModel):
    """The policy pack that applied."""

    region: str
    name: str
    version: str
    chain: list[str]
    provisional_parameters: list[str] = Field(description="本次测算用到的待确认参数")


class EvaluationResult(BaseModel):
    """Every program's decision for one household on one date."""

    date: Date
    area_code: str
    household_id: int | None = None
    pack: PackInfo
    household: dict[str, Any]
    programs: dict[str, ProgramDecision]


class ParameterOut(BaseModel):
    """A parameter in force: value, unit, legal reference, and whether it still needs confirmation."""

    key: str
    value: Any
    unit: str
    ref: str
    region: str
    provisional: bool
    note: str = ""


class ParametersOut(BaseModel):
    """The parameters in force for a region on a date."""

    region: str
    name: str
    version: str
    date: Date
    parameters: list[ParameterOut]
