"""多头 (one need, two payers) and 遗漏 of 低保边缘 households with rising rigid expenses, on hand-built frames
(pack of 2026-11-15: 特困 + 孤儿保障 is one need; 支出型 aid against 12 months of 医保 out-of-pocket; rigid expenses
over 12 months, the last 3 months against the 3 before; standards of the test: urban 1 000, rural 800)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy.orm import Session

from doudi.monitoring.read import read_expenses
from doudi.monitoring.rules.base import Inputs
from doudi.monitoring.run import rule_specs
from doudi.registry.models import ExpenseFact
from tests.factories import TOWN_A
from tests.monitoring.builders import ON as ON_RUN
from tests.monitoring.builders import county
from tests.monitoring.test_rules import BASE, ON, STD, enrolled, feed, members, run_rule, subjects


def test_double_payer_same_need_two_programs() -> None:
    """Person 1 is paid 特困 and 孤儿保障 (child_welfare) the same month: flagged (household 10). Household 20's 特困
    person 3 and child_welfare person 99 are different people: not flagged. Household 30's child_welfare starts in
    2026-12, after 11-15: not yet paid, not flagged."""
    e = enrolled((10, "extreme_poverty", {"person_id": 1}), (10, "child_welfare", {"person_id": 1}),
                 (20, "extreme_poverty", {"person_id": 3}), (20, "child_welfare", {"person_id": 99}),
                 (30, "extreme_poverty", {"person_id": 4}),
                 (30, "child_welfare", {"person_id": 4, "start_month": date(2026, 12, 1)}))
    out = run_rule("double_payer", Inputs(members=BASE, enrollments=e))
    assert subjects(out) == ["h10"]
    assert out["reason"][0] == "张一特困供养与孤儿/事实无人抚养儿童保障同月保障同一基本生活需求，不应同时享受"


def test_double_payer_expenditure_aid_above_out_of_pocket() -> None:
    """Household 10: 支出型 aid 3 000 + 2 000 = 5 000 within 12 months; its members' 医保 out-of-pocket in the window
    1 500 + 2 000 = 3 500 < 5 000 → flagged, with both medical rows as evidence. Household 20: aid 1 000 ≤
    out-of-pocket 1 200 → not flagged. Household 30: 急难型 (emergency) aid 9 000 is not for the medical need → not
    flagged. A medical row of 2025-11-10 (outside 12 months) is not counted."""
    g = pl.DataFrame({"household_id": [10, 10, 20, 30], "kind": ["expenditure", "expenditure", "expenditure",
                                                                 "emergency"],
                      "granted_on": [date(2026, 3, 1), date(2026, 9, 1), date(2026, 5, 1), date(2026, 6, 1)],
                      "amount": [3000.0, 2000.0, 1000.0, 9000.0]})
    f = feed({"source_key": "medical", "person_id": 1, "event_date": date(2026, 2, 1), "amount": 1500.0},
             {"source_key": "medical", "person_id": 2, "event_date": date(2026, 8, 1), "amount": 2000.0},
             {"source_key": "medical", "person_id": 1, "event_date": date(2025, 11, 10), "amount": 9999.0},
             {"source_key": "medical", "person_id": 3, "event_date": date(2026, 4, 1), "amount": 1200.0},
             {"source_key": "medical", "person_id": 4, "event_date": date(2026, 4, 1), "amount": 10.0})
    out = run_rule("double_payer", Inputs(members=BASE, grants=g, feed=f))
    assert subjects(out) == ["h10"]
    assert "支出型临时救助 5000.00 元，超过同期医保结算个人负担 3500.00 元" in out["reason"][0]
    assert sorted(out["evidence"][0].to_list()) == [
        '{"batch_id": 7, "row_number": 1, "source": "medical"}',
        '{"batch_id": 7, "row_number": 2, "source": "medical"}']


def _marginal(*households: int) -> pl.DataFrame:
    return enrolled(*((h, "dibao_marginal", {"monthly_amount": 0.0}) for h in households))


def test_rising_expense_marginal_household_below_standard() -> None:
    """Household 10 (2 members, rural standard 800), 低保边缘, counted income 24 000 a year. Medical expenses by
    month: 2026-05 500, 2026-06 500 (the 3 months before: 05–07 = 1 000), 2026-08 3 000, 2026-09 4 000, 2026-10
    5 000 (the last 3 complete months: 08–10 = 12 000 > 1 000, rising); 2026-11 (the month of the run) 7 000 is
    not complete and is left out. Rigid over 12 months = 13 000; (24 000 − 13 000) / 12 / 2 = 458.33 < 800 → flagged.
    Household 20 (1 member): the same rise but income 120 000: (120 000 − 13 000) / 12 = 8 916.67 ≥ 800 → not.
    Household 30 (1 member, not 低保边缘 but 低保): not its rule. Household 40 is 低保边缘 with falling expenses."""
    m = pl.concat([BASE, members((5, 40, "赵五", date(1970, 1, 1)))])
    rows = []
    for hid in (10, 20, 30):
        for month, amount in ((5, 500.0), (6, 500.0), (8, 3000.0), (9, 4000.0), (10, 5000.0), (11, 7000.0)):
            rows.append({"household_id": hid, "kind": "medical", "month": date(2026, month, 1), "amount": amount})
    rows += [{"household_id": 40, "kind": "education", "month": date(2026, 5, 1), "amount": 5000.0},
             {"household_id": 40, "kind": "education", "month": date(2026, 9, 1), "amount": 100.0}]
    e = pl.concat([_marginal(10, 20, 40), enrolled((30, "dibao"))])
    inc = pl.DataFrame({"household_id": [10, 20, 30, 40], "annual_income": [24000.0, 120000.0, 0.0, 0.0]})
    out = run_rule("rising_expense", Inputs(members=m, enrollments=e, expenses=pl.DataFrame(rows), incomes=inc,
                                            standards=STD))
    assert subjects(out) == ["h10"]
    assert out["reason"][0] == ("低保边缘家庭近 3 个月刚性支出 12000.00 元，高于此前 3 个月的 1000.00 元；"
                                "扣除 12 个月刚性支出 13000.00 元后家庭月人均收入 458.33 元，"
                                "低于低保标准 800.00 元，可能符合低保（支出型）条件")
    assert rule_specs("370784", ON)["rising_expense"].discovery  # a lead: the household is not a 低保 recipient


def test_rising_expense_net_income_negative_and_at_standard() -> None:
    """Household 10 (2 members): rigid 13 000 (as above) against income 0 → net −541.67 < 800 → flagged, the sign
    kept. Household 30 (1 member): income 22 600 − 13 000 = 9 600 / 12 = 800.00, not below the standard 800."""
    rows = [{"household_id": h, "kind": "medical", "month": date(2026, mo, 1), "amount": a}
            for h in (10, 30) for mo, a in ((5, 500.0), (6, 500.0), (8, 3000.0), (9, 4000.0), (10, 5000.0))]
    inc = pl.DataFrame({"household_id": [10, 30], "annual_income": [0.0, 22600.0]})
    out = run_rule("rising_expense", Inputs(members=BASE, enrollments=_marginal(10, 30),
                                            expenses=pl.DataFrame(rows), incomes=inc, standards=STD), ON)
    assert subjects(out) == ["h10"]
    assert "net_per_capita=-541.67" in out["details"][0].to_list()[0]


def test_expenses_read_from_the_registry_by_month(db: Session) -> None:
    """Rigid-expense facts of household A (安丘 village A1) read for 2026-11-16 with a 12-month window: from
    2025-11-01 on. A medical bill of 2026-09-10..2026-09-30 (800) counts in 2026-09; an education fee starting
    2025-10-15 is before the window; a superseded fact is left out; household B (other township) is outside a
    run scoped to township A."""
    c = county(db)
    fact = {"source_kind": "declared", "period_end": date(2026, 9, 30)}
    db.add_all([
        ExpenseFact(household_id=c.a.id, kind="medical", amount=Decimal("800"), period_start=date(2026, 9, 10),
                    **fact),
        ExpenseFact(household_id=c.a.id, kind="education", amount=Decimal("3000"), period_start=date(2025, 10, 15),
                    **fact),
        ExpenseFact(household_id=c.a.id, kind="medical", amount=Decimal("50"), period_start=date(2026, 8, 1),
                    superseded_by=1, **fact),
        ExpenseFact(household_id=c.b.id, kind="medical", amount=Decimal("70"), period_start=date(2026, 8, 1),
                    **fact)])
    db.flush()
    got = read_expenses(db, on=ON_RUN, area=TOWN_A, months=12)
    assert got.rows() == [(c.a.id, "medical", date(2026, 9, 1), 800.0)]
