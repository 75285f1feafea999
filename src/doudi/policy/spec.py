"""The parameters the rule modules read, with the kind of value each must hold.

Packs may define any other dotted key (``procedure.*``, ``calendar.*`` …); only the keys listed here
are type-checked at load, and ``REQUIRED`` keys must be in force for an evaluation to run.
"""

from __future__ import annotations

from datetime import date
from typing import Any

KNOWN: dict[str, str] = {
    # 低保
    "dibao.standard.urban": "number",
    "dibao.standard.rural": "number",
    "dibao.household.uncounted_relations": "list",
    "dibao.income.counted_kinds": "list",
    "dibao.income.employment_cost_deduction": "number",
    "dibao.income.rigid_expense_deduction_share": "number",
    "dibao.income.averaging_months": "number",
    "dibao.income.impute_idle_at_minimum_wage": "bool",
    "dibao.income.minimum_wage": "number",
    "dibao.income.working_age_from": "number",
    "dibao.income.working_age_to": "number",
    "dibao.property.financial_assets_months": "number",
    "dibao.property.max_residential": "number",
    "dibao.property.max_non_residential": "number",
    "dibao.property.max_vehicles": "number",
    "dibao.property.max_business_registrations": "number",
    "dibao.benefit.method": "str",
    "dibao.benefit.tiers": "list",
    "dibao.increment.elderly": "number",
    "dibao.increment.minor": "number",
    "dibao.increment.severe_disability": "number",
    "dibao.increment.serious_illness": "number",
    "dibao.increment.combine": "str",
    "dibao.single_person.enabled": "bool",
    "dibao.single_person.jobless_severe_disabled": "bool",
    "dibao.single_person.household_income_multiple": "number",
    "dibao.work_refusal.max_refusals": "number",
    "dibao.work_refusal.own_share_cut": "number",
    "dibao.gradual_exit.months": "number",
    "dibao.gradual_exit.extra_months_former_poor": "number",
    "dibao.review.stable_months": "number",
    "dibao.review.unstable_months": "number",
    # 低保边缘
    "dibao_marginal.income_multiple": "number",
    # ages
    "age.elderly": "number",
    "age.minor": "number",
    "age.labour_min": "number",
    # 特困
    "extreme_poverty.no_labour.disability_max_grade": "dict",
    "extreme_poverty.income.counted_kinds": "list",
    "extreme_poverty.basic_multiplier": "number",
    "extreme_poverty.basic_standard.urban": "number",
    "extreme_poverty.basic_standard.rural": "number",
    "extreme_poverty.care.partial_min_unable": "number",
    "extreme_poverty.care.full_min_unable": "number",
    "extreme_poverty.care_standard.self_care": "number",
    "extreme_poverty.care_standard.partial": "number",
    "extreme_poverty.care_standard.full": "number",
    "extreme_poverty.care_hours.self_care": "number",
    "extreme_poverty.care_hours.partial": "number",
    "extreme_poverty.care_hours.full": "number",
    # 刚性支出困难家庭
    "rigid_expense_hardship.enabled": "bool",
    "rigid_expense_hardship.expense_share": "number",
    "rigid_expense_hardship.valid_months": "number",
    "statistics.disposable_income.urban": "number",
    "statistics.disposable_income.rural": "number",
    # 临时救助
    "temporary_assistance.tiers.emergency": "list",
    "temporary_assistance.tiers.expenditure": "list",
    "temporary_assistance.township_limit": "number",
    "temporary_assistance.county_cap_months": "number",
    "temporary_assistance.emergency_deadline_hours": "number",
    # 儿童
    "child_welfare.allowance.orphan_institution": "number",
    "child_welfare.allowance.orphan_community": "number",
    "child_welfare.allowance.de_facto_unsupported": "number",
    "child_welfare.allowance.in_hardship": "number",
    "child_welfare.de_facto_offset": "bool",
    # 残疾人两项补贴
    "disability_subsidies.living.amount": "number",
    "disability_subsidies.living.include_marginal": "bool",
    "disability_subsidies.care.max_grade": "number",
    "disability_subsidies.care.amount.grade1": "number",
    "disability_subsidies.care.amount.grade2": "number",
    # 江门 相对贫困
    "relative_poverty.method": "str",
    "relative_poverty.income_line.urban": "number",
    "relative_poverty.income_line.rural": "number",
    "relative_poverty.indicators": "list",
    "relative_poverty.pass_score": "number",
}

# In force for every evaluation date the rules cover (the programs read them without a default).
REQUIRED: tuple[str, ...] = (
    "dibao.standard.urban", "dibao.standard.rural", "dibao.household.uncounted_relations",
    "dibao.income.counted_kinds", "dibao.income.employment_cost_deduction",
    "dibao.income.rigid_expense_deduction_share", "dibao.property.financial_assets_months",
    "dibao.property.max_residential", "dibao.property.max_non_residential", "dibao.property.max_vehicles",
    "dibao.property.max_business_registrations", "dibao.benefit.method",
    "age.elderly", "age.minor", "age.labour_min", "extreme_poverty.no_labour.disability_max_grade",
    "extreme_poverty.income.counted_kinds", "extreme_poverty.basic_multiplier",
    "extreme_poverty.care.partial_min_unable", "extreme_poverty.care.full_min_unable",
    "extreme_poverty.care_standard.self_care", "extreme_poverty.care_standard.partial",
    "extreme_poverty.care_standard.full", "temporary_assistance.tiers.emergency",
    "temporary_assistance.tiers.expenditure", "temporary_assistance.township_limit",
    "temporary_assistance.county_cap_months", "child_welfare.allowance.orphan_institution",
    "child_welfare.allowance.orphan_community", "child_welfare.allowance.de_facto_unsupported",
    "child_welfare.allowance.in_hardship", "disability_subsidies.living.amount",
    "disability_subsidies.care.max_grade", "disability_subsidies.care.amount.grade1",
    "disability_subsidies.care.amount.grade2", "dibao.review.stable_months", "dibao.review.unstable_months",
)

INCOME_KINDS = ("wage", "business", "property", "transfer", "basic_pension")


def kind_ok(kind: str, value: Any) -> bool:
    """True when `value` is of the parameter kind ('number', 'bool', 'str', 'list', 'dict', 'date')."""
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "date":
        return isinstance(value, date)
    return True
