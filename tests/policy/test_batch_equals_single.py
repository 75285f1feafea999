"""Property: evaluating households together in one batch gives exactly the single-case results."""

from __future__ import annotations

import os
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.policy.schemas import HouseholdIn
from doudi.policy.service import evaluate, evaluate_many

AREAS = ["370784001001", "370784002", "440703001001", "440781100001", "440783001001", "440785001"]
money = st.one_of(st.just(0.0), st.integers(0, 600000).map(lambda c: c / 100))

member = st.fixed_dictionaries({
    "relation": st.sampled_from(["head", "spouse", "child", "parent", "grandchild", "sibling", "other"]),
    "birth_date": st.dates(date(1925, 1, 1), date(2024, 12, 31)),
    "disability": st.one_of(st.none(), st.fixed_dictionaries({
        "category": st.sampled_from(["visual", "physical", "intellectual", "mental", "hearing"]),
        "grade": st.integers(1, 4)})),
    "serious_illness": st.booleans(),
    "self_care_unable_items": st.integers(0, 6),
    "student": st.booleans(),
    "child_status": st.one_of(st.none(), st.none(), st.sampled_from(
        ["orphan_institution", "orphan_community", "de_facto_unsupported", "in_hardship"])),
    "monthly_income": st.fixed_dictionaries({"wage": money, "business": money, "transfer": money,
                                             "basic_pension": st.sampled_from([0.0, 150.0])}),
    "exclusion": st.one_of(st.none(), st.none(), st.none(), st.just("imprisoned")),
    "refused_job_offers": st.sampled_from([0, 0, 3]),
    "idle_without_reason": st.booleans(),
})

household = st.fixed_dictionaries({
    "area_code": st.sampled_from(AREAS),
    "hukou_type": st.sampled_from(["urban", "rural"]),
    "has_capable_supporter": st.booleans(),
    "members": st.lists(member, min_size=1, max_size=5),
    "assets": st.fixed_dictionaries({"financial_assets": money.map(lambda v: v * 10),
                                     "residential_properties": st.integers(0, 2), "vehicles": st.integers(0, 1)}),
    "rigid_expenses_12m": st.fixed_dictionaries({"medical": money.map(lambda v: v * 5)}),
    "temporary_need": st.one_of(st.none(), st.fixed_dictionaries({
        "kind": st.sampled_from(["emergency", "expenditure"]), "amount": st.integers(1, 30000).map(float)})),
    "receiving_dibao": st.booleans(),
    "dibao_current_amount": st.sampled_from([None, 400.0]),
    "income_above_standard_since": st.one_of(st.none(), st.dates(date(2023, 1, 1), date(2025, 12, 31))),
})


def _strip(result: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in result.items() if k != "household_id"}


EXAMPLES = int(os.environ.get("DOUDI_HYPOTHESIS_EXAMPLES", "40"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(household, min_size=1, max_size=6), st.dates(date(2020, 1, 1), date(2026, 12, 31)))
def test_batch_results_equal_single_case_results(raw: list[dict], on: date) -> None:  # type: ignore[type-arg]
    households = [HouseholdIn.model_validate(h) for h in raw]
    batch = evaluate_many(households, on)
    for h, together in zip(households, batch, strict=True):
        alone = evaluate(h, on)
        assert _strip(alone) == _strip(together)
