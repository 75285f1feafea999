"""The 低保 补差 rule written in OpenFisca (the reference the benchmark compares against).

Same rule as the engine's core path: counted income = wage − employment-cost deduction + business +
property + transfer over counted members; property limits; amount = standard × size − income when
the per-capita income is below the standard. Parameters come from the same policy pack.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from openfisca_core import periods
from openfisca_core.entities import build_entity
from openfisca_core.parameters import ParameterNode
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

Household = build_entity(key="household", plural="households", label="家庭",
                         roles=[{"key": "member", "plural": "members", "label": "成员"}])
Person = build_entity(key="person", plural="persons", label="个人", is_person=True)
MONTH = periods.DateUnit.MONTH


def _input(name: str, entity: Any, value_type: type, default: Any = 0) -> type[Variable]:
    return type(name, (Variable,), {"value_type": value_type, "entity": entity, "definition_period": MONTH,
                                    "default_value": default, "label": name})


class income_counted(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "计算收入"

    def formula(person, period, parameters):  # type: ignore[no-untyped-def]
        p = parameters(period).dibao
        wage = person("wage", period)
        counted_wage = wage - np.minimum(wage, p.employment_cost_deduction)
        total = counted_wage + person("business", period) + person("property", period) + person("transfer", period)
        return total * person("counted", period)


class household_size(Variable):
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "计入人数"

    def formula(household, period, parameters):  # type: ignore[no-untyped-def]
        return household.sum(household.members("counted", period))


class household_income(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "家庭计算收入"

    def formula(household, period, parameters):  # type: ignore[no-untyped-def]
        return household.sum(household.members("income_counted", period))


class dibao_standard(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "低保标准"

    def formula(household, period, parameters):  # type: ignore[no-untyped-def]
        p = parameters(period).dibao
        return np.where(household("urban", period), p.standard_urban, p.standard_rural)


class property_ok(Variable):
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "财产符合"

    def formula(household, period, parameters):  # type: ignore[no-untyped-def]
        p = parameters(period).dibao
        size = np.maximum(household("household_size", period), 1)
        return ((household("financial_assets", period) <= p.financial_assets_months * p.standard_urban * size)
                & (household("residential_properties", period) <= p.max_residential)
                & (household("non_residential_properties", period) <= p.max_non_residential)
                & (household("vehicles", period) <= p.max_vehicles)
                & (household("business_registrations", period) <= p.max_business_registrations))


class dibao_amount(Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "低保金（补差）"

    def formula(household, period, parameters):  # type: ignore[no-untyped-def]
        size = household("household_size", period)
        income = household("household_income", period)
        std = household("dibao_standard", period)
        eligible = (size > 0) & (income < std * size) & household("property_ok", period)
        return np.where(eligible, std * size - income, 0.0)


def build_system(values: dict[str, float], on: date) -> TaxBenefitSystem:
    """A tax-benefit system with the two entities, the inputs, the rule, and the pack's values."""
    tbs = TaxBenefitSystem([Person, Household])
    for name in ("wage", "business", "property", "transfer"):
        tbs.add_variable(_input(name, Person, float))
    tbs.add_variable(_input("counted", Person, bool, True))
    tbs.add_variable(_input("urban", Household, bool, False))
    tbs.add_variable(_input("financial_assets", Household, float))
    for name in ("residential_properties", "non_residential_properties", "vehicles", "business_registrations"):
        tbs.add_variable(_input(name, Household, int))
    for var in (income_counted, household_size, household_income, dibao_standard, property_ok, dibao_amount):
        tbs.add_variable(var)
    start = on.replace(day=1).isoformat()
    dated = {k: {"values": {start: {"value": v}}} for k, v in values.items()}
    tbs.parameters = ParameterNode("", data={"dibao": dated})
    return tbs


def run(tbs: TaxBenefitSystem, hh: dict[str, np.ndarray], mem: dict[str, np.ndarray], on: date) -> np.ndarray:
    """Compute dibao_amount for every household (arrays keyed by column; members sorted by household)."""
    period = periods.period(f"{on.year}-{on.month:02d}")
    builder = SimulationBuilder()
    builder.create_entities(tbs)
    builder.declare_person_entity("person", [str(i) for i in range(len(mem["household_pos"]))])
    households = builder.declare_entity("household", [str(i) for i in range(len(hh["urban"]))])
    builder.join_with_persons(households, mem["household_pos"].astype(str),
                              np.full(len(mem["household_pos"]), "member"))
    sim = builder.build(tbs)
    for name in ("wage", "business", "property", "transfer", "counted"):
        sim.set_input(name, period, mem[name])
    for name in ("urban", "financial_assets", "residential_properties", "non_residential_properties", "vehicles",
                 "business_registrations"):
        sim.set_input(name, period, hh[name])
    amounts: np.ndarray = sim.calculate("dibao_amount", period)
    return amounts
