"""Each warning rule on hand-built frames: exactly the expected subjects, no others (pack values of 2026-11-15:
安丘 低保 standards, 24 months of the urban standard as financial limit, 20 000 元 medical line, ages 16/18/60)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from doudi.monitoring.rules.base import Inputs
from doudi.monitoring.run import evaluate, group_hits, rule_specs
from doudi.policy.params import load_pack

ON = date(2026, 11, 15)
V = "370784001001"
STD = pl.DataFrame({"county": ["370784"], "urban": [1000.0], "rural": [800.0], "financial_months": [24.0]})


def members(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """(person_id, household_id, name, birth, extra dict) rows."""
    out = []
    for pid, hid, name, birth, *extra in rows:
        out.append({"person_id": pid, "household_id": hid, "area_code": V, "name": name, "id_number": f"ID{pid}",
                    "birth_date": birth, "hukou_type": "rural", "relation": "head", **(extra[0] if extra else {})})
    return pl.DataFrame(out)


def enrolled(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """(household_id, program, extra dict) rows, active since 2025-01."""
    return pl.DataFrame([{"enrollment_id": i + 1, "household_id": hid, "area_code": V, "program": prog,
                          "status": "active", "start_month": date(2025, 1, 1), "monthly_amount": 500.0,
                          "next_review_on": date(2027, 1, 1), **(extra[0] if extra else {})}
                         for i, (hid, prog, *extra) in enumerate(rows)])


def feed(*rows: dict[str, Any]) -> pl.DataFrame:
    """Feed rows (batch 7, numbered in order)."""
    return pl.DataFrame([{"batch_id": 7, "row_number": i + 1, "area_code": "370784", **r} for i, r in enumerate(rows)])


def run_rule(key: str, inp: Inputs, on: date = ON) -> pl.DataFrame:
    """The grouped warnings of one rule."""
    specs = {key: rule_specs("370784", on)[key]}
    return group_hits(evaluate(inp.conformed(), specs, load_pack("370784").at(on), on))


def subjects(out: pl.DataFrame) -> list[str]:
    """The subject keys flagged, sorted."""
    return sorted(out["subject_key"].to_list())


BASE = members((1, 10, "张一", date(1960, 1, 1)), (2, 10, "张二", date(1990, 3, 1)),
               (3, 20, "李三", date(1955, 1, 1)), (4, 30, "王四", date(1980, 1, 1)))
ENR = enrolled((10, "dibao"), (20, "dibao"))  # household 30 is not a recipient


def test_death_recipient_only_and_registry_death() -> None:
    """Deaths of recipients 1 (feed) and 3 (registry) flag; non-recipient 4 does not."""
    m = BASE.with_columns(date_of_death=pl.when(pl.col("person_id") == 3).then(date(2026, 10, 1)).otherwise(None))
    inp = Inputs(members=m, enrollments=ENR, feed=feed(
        {"source_key": "death", "person_id": 1, "event_date": date(2026, 11, 2), "code": "cremation"},
        {"source_key": "death", "person_id": 4, "event_date": date(2026, 11, 3), "code": "death_registration"}))
    out = run_rule("death", inp)
    assert subjects(out) == ["p1", "p3"]
    one = out.filter(pl.col("subject_key") == "p1").row(0, named=True)
    assert "火化记录" in one["reason"] and one["evidence"] == ['{"batch_id": 7, "row_number": 1, "source": "death"}']


def test_hukou_cancelled() -> None:
    """Only a cancelled 户籍 of a recipient."""
    inp = Inputs(members=BASE, enrollments=ENR, feed=feed(
        {"source_key": "hukou", "person_id": 2, "event_date": date(2026, 9, 1), "code": "cancelled"},
        {"source_key": "hukou", "person_id": 3, "event_date": date(2026, 9, 1), "code": "moved_out"}))
    assert subjects(run_rule("hukou_cancelled", inp)) == ["p2"]


def test_income_rise_per_capita_latest_month() -> None:
    """Household 10 (2 members, rural standard 800): October wages 1 700 → 850/person > 800 flags, with 渐退;
    household 20 (1 member): 790 ≤ 800 does not; September's higher figure is not the latest month."""
    inp = Inputs(members=BASE, enrollments=ENR, standards=STD, feed=feed(
        {"source_key": "tax", "person_id": 1, "event_date": date(2026, 10, 1), "amount": 1000.0, "code": "wage"},
        {"source_key": "tax", "person_id": 2, "event_date": date(2026, 10, 1), "amount": 700.0, "code": "wage"},
        {"source_key": "tax", "person_id": 3, "event_date": date(2026, 9, 1), "amount": 5000.0, "code": "wage"},
        {"source_key": "tax", "person_id": 3, "event_date": date(2026, 10, 1), "amount": 790.0, "code": "wage"}))
    out = run_rule("income_rise", inp)
    assert subjects(out) == ["h10"]
    r = out.row(0, named=True)
    assert "人均收入 850.00 元，高于低保标准 800.00 元" in r["reason"] and "渐退" in r["reason"]
    assert len(r["evidence"]) == 2


def test_assets_new_since_enrollment() -> None:
    """Real estate, a car, an active business after enrollment flag; an e-bike, an older house, a revoked business
    and a non-recipient's car do not."""
    inp = Inputs(members=BASE, enrollments=ENR, feed=feed(
        {"source_key": "real_estate", "person_id": 1, "event_date": date(2026, 3, 1), "code": "residential"},
        {"source_key": "real_estate", "person_id": 3, "event_date": date(2019, 3, 1), "code": "residential"},
        {"source_key": "vehicle", "person_id": 3, "event_date": date(2026, 6, 1), "code": "car", "amount": 60000.0},
        {"source_key": "vehicle", "person_id": 2, "event_date": date(2026, 6, 1), "code": "e_bike"},
        {"source_key": "vehicle", "person_id": 4, "event_date": date(2026, 6, 1), "code": "car"},
        {"source_key": "business", "person_id": 2, "event_date": date(2026, 2, 1), "code": "active"},
        {"source_key": "business", "person_id": 3, "event_date": date(2026, 2, 1), "code": "revoked"}))
    assert subjects(run_rule("real_estate", inp)) == ["h10"]
    assert subjects(run_rule("vehicle", inp)) == ["h20"]
    assert subjects(run_rule("business", inp)) == ["h10"]


def test_bank_balance_limit() -> None:
    """Limit = 24 × 1 000 × members: household 10 (2) 48 000 — 48 001 flags; household 20 (1) exactly 24 000
    does not."""
    inp = Inputs(members=BASE, enrollments=ENR, standards=STD, feed=feed(
        {"source_key": "bank", "person_id": 1, "amount": 40000.0, "event_date": date(2026, 10, 31)},
        {"source_key": "bank", "person_id": 2, "amount": 8001.0, "event_date": date(2026, 10, 31)},
        {"source_key": "bank", "person_id": 3, "amount": 24000.0, "event_date": date(2026, 10, 31)}))
    out = run_rule("bank_balance", inp)
    assert subjects(out) == ["h10"]
    assert "48001.00 元，超过财产限额 48000.00 元" in out["reason"][0]


def test_employment_unemployment_school() -> None:
    """Contributions by 张二 (36) flag, by 张一 (66) do not; registered unemployment and enrolment refer."""
    inp = Inputs(members=BASE, enrollments=ENR, feed=feed(
        {"source_key": "social_insurance", "person_id": 2, "event_date": date(2026, 10, 1), "code": "contribution"},
        {"source_key": "social_insurance", "person_id": 1, "event_date": date(2026, 10, 1), "code": "contribution"},
        {"source_key": "unemployment", "person_id": 2, "event_date": date(2026, 8, 1), "code": "registered"},
        {"source_key": "unemployment", "person_id": 3, "event_date": date(2026, 8, 1), "code": "ended"},
        {"source_key": "school", "person_id": 2, "event_date": date(2026, 9, 1), "code": "enrolled"},
        {"source_key": "school", "person_id": 4, "event_date": date(2026, 9, 1), "code": "enrolled"}))
    assert subjects(run_rule("new_employment", inp)) == ["p2"]
    assert subjects(run_rule("unemployment", inp)) == ["p2"]
    assert subjects(run_rule("school_enrolment", inp)) == ["p2"]


def test_medical_cost_share_or_line_and_feed_only_person() -> None:
    """Household 30 earns 30 000/year → limit 15 000: 王四's 16 000 flags. 张一 has no income data → line 20 000:
    19 000 does not flag. 赵六, known only from the feed, 12 000 + 9 000 = 21 000 > 20 000 flags; a cost older
    than 12 months is not counted."""
    income = pl.DataFrame({"household_id": [30], "annual_income": [30000.0]})
    inp = Inputs(members=BASE, enrollments=ENR, incomes=income,
                 feed=feed(
        {"source_key": "medical", "person_id": 4, "amount": 16000.0, "event_date": date(2026, 6, 1)},
        {"source_key": "medical", "person_id": 1, "amount": 19000.0, "event_date": date(2026, 6, 1)},
        {"source_key": "medical", "id_number": "X9", "name": "赵六", "amount": 12000.0, "event_date": date(2026, 5, 1)},
        {"source_key": "medical", "id_number": "X9", "name": "赵六", "amount": 9000.0, "event_date": date(2026, 7, 1)},
        {"source_key": "medical", "person_id": 1, "amount": 99000.0, "event_date": date(2025, 10, 1)}))
    out = run_rule("medical_cost", inp)
    assert subjects(out) == ["iX9", "p4"]
    assert "21000.00" in out.filter(pl.col("subject_key") == "iX9")["reason"][0]


def test_severe_disability_within_year() -> None:
    """Grade 2 issued this year flags (recipient or not); grade 3 and an old certificate do not."""
    inp = Inputs(members=BASE, enrollments=ENR, feed=feed(
        {"source_key": "disability", "person_id": 4, "grade": 2, "event_date": date(2026, 4, 1)},
        {"source_key": "disability", "person_id": 1, "grade": 3, "event_date": date(2026, 4, 1)},
        {"source_key": "disability", "person_id": 3, "grade": 1, "event_date": date(2024, 4, 1)}))
    assert subjects(run_rule("severe_disability", inp)) == ["p4"]


def test_age_transition_window() -> None:
    """Within the 31 days up to 2026-11-15: 16th birthday on 11-01 and 60th on 11-15 flag; 18th on 11-16 not yet,
    60th on 2026-10-14 (32 days before) no longer."""
    m = members((1, 10, "甲", date(2010, 11, 1)), (2, 10, "乙", date(1966, 11, 15)), (3, 20, "丙", date(2008, 11, 16)),
                (4, 20, "丁", date(1966, 10, 14)))
    out = run_rule("age_transition", Inputs(members=m, enrollments=ENR))
    assert subjects(out) == ["p1", "p2"]


def test_supporter_lost() -> None:
    """Household 40: the 45-year-old dies, leaving a 70-year-old and a 9-year-old → flags. Household 50: the
    remaining member is 40 → does not."""
    m = members((1, 40, "父", date(1981, 1, 1)), (2, 40, "祖母", date(1956, 1, 1)), (3, 40, "孙", date(2017, 1, 1)),
                (4, 50, "甲", date(1950, 1, 1)), (5, 50, "乙", date(1986, 1, 1)))
    f = feed({"source_key": "death", "person_id": 1, "event_date": date(2026, 11, 1), "code": "death_registration"},
             {"source_key": "death", "person_id": 4, "event_date": date(2026, 11, 1), "code": "death_registration"})
    out = run_rule("supporter_lost", Inputs(members=m, feed=f))
    assert subjects(out) == ["h40"]
    assert "其余 2 名" in out["reason"][0]


def test_duplicate_two_households_and_ep_in_dibao() -> None:
    """Person 1 is a member of two enrolled households; person 3 has 特困 and is counted in 低保 household 20."""
    m = pl.concat([BASE, members((1, 20, "张一", date(1960, 1, 1)))])
    e = enrolled((10, "dibao"), (20, "dibao"), (20, "extreme_poverty", {"person_id": 3}))
    out = run_rule("duplicate", Inputs(members=m, enrollments=e))
    assert subjects(out) == ["p1", "p3"]


def test_multi_agency() -> None:
    """Three grants within 12 months (> 2) flag household 10; two for household 20 and an old one do not."""
    g = pl.DataFrame({"household_id": [10, 10, 10, 20, 20, 20],
                      "granted_on": [date(2026, 1, 5), date(2026, 5, 5), date(2026, 9, 5), date(2026, 2, 1),
                                     date(2026, 3, 1), date(2025, 11, 15)],
                      "amount": [500.0, 800.0, 700.0, 100.0, 100.0, 100.0]})
    out = run_rule("multi_agency", Inputs(members=BASE, grants=g))
    assert subjects(out) == ["h10"]
    assert "3 次（合计 2000.00 元）" in out["reason"][0]


def test_missed_not_enrolled_not_refused() -> None:
    """Household 30 eligible for 低保, not enrolled, not refused → flags; household 10 is enrolled; household 20 was
    refused 低保 and is ineligible for the rest."""
    d = pl.DataFrame({"household_id": [10, 20, 30, 30], "program": ["dibao", "dibao", "dibao", "extreme_poverty"],
                      "eligible": [True, True, True, False], "monthly_amount": [500.0, 300.0, 400.0, 0.0]})
    out = run_rule("missed", Inputs(members=BASE, enrollments=enrolled((10, "dibao")), decisions=d,
                                    refusals=pl.DataFrame({"household_id": [20], "program": ["dibao"]})))
    assert subjects(out) == ["h30"]


def test_review_overdue_and_gradual_exit() -> None:
    """A review due 2026-11-14 is overdue on 11-15; one due on 11-15 is not; a 渐退 ending 12-15 (30 days) flags."""
    e = enrolled((10, "dibao", {"next_review_on": date(2026, 11, 14)}),
                 (20, "dibao", {"next_review_on": date(2026, 11, 15)}),
                 (30, "dibao", {"status": "gradual_exit", "gradual_exit_until": date(2026, 12, 15)}))
    assert subjects(run_rule("review_overdue", Inputs(members=BASE, enrollments=e))) == ["h10", "h30"]


def test_care_reassessment_dispersed_only() -> None:
    """A 分散供养 特困 person with a 6 000 元 settlement flags; a centralised one and a 4 000 元 settlement do not."""
    m = members((1, 10, "甲", date(1950, 1, 1), {"support_mode": "dispersed"}),
                (2, 20, "乙", date(1950, 1, 1), {"support_mode": "centralized"}),
                (3, 30, "丙", date(1950, 1, 1), {"support_mode": "dispersed"}))
    e = enrolled((10, "extreme_poverty"), (20, "extreme_poverty"), (30, "extreme_poverty"))
    f = feed({"source_key": "medical", "person_id": 1, "amount": 6000.0, "event_date": date(2026, 10, 1)},
             {"source_key": "medical", "person_id": 2, "amount": 9000.0, "event_date": date(2026, 10, 1)},
             {"source_key": "medical", "person_id": 3, "amount": 4000.0, "event_date": date(2026, 10, 1)})
    assert subjects(run_rule("care_reassessment", Inputs(members=m, enrollments=e, feed=f))) == ["p1"]


def test_assessment_change_proposes() -> None:
    """Enrolled at 500: the engine now says ineligible (h10 → 渐退或终止), 620 (h20 → 增发); 500.4 is no change."""
    e = enrolled((10, "dibao"), (20, "dibao"), (30, "dibao"))
    d = pl.DataFrame({"household_id": [10, 20, 30], "program": ["dibao"] * 3, "eligible": [False, True, True],
                      "monthly_amount": [0.0, 620.0, 500.4]})
    out = run_rule("assessment_change", Inputs(members=BASE, enrollments=e, decisions=d))
    assert subjects(out) == ["h10", "h20"]
    reasons = dict(zip(out["subject_key"], out["reason"], strict=True))
    assert "建议渐退或终止" in reasons["h10"] and "建议增发" in reasons["h20"]


@pytest.mark.parametrize("households", [1, 3])
def test_single_equals_batch(households: int) -> None:
    """One household evaluated alone flags exactly what it flags inside the batch."""
    inp = Inputs(members=BASE, enrollments=enrolled((10, "dibao", {"next_review_on": date(2026, 1, 1)}),
                                                    (20, "dibao", {"next_review_on": date(2026, 1, 1)})))
    specs = rule_specs("370784", ON)
    whole = group_hits(evaluate(inp.conformed(), specs, load_pack("370784").at(ON), ON))
    one = Inputs(members=BASE.filter(pl.col("household_id") == 10),
                 enrollments=inp.enrollments.filter(pl.col("household_id") == 10))
    alone = group_hits(evaluate(one.conformed(), specs, load_pack("370784").at(ON), ON))
    assert sorted(alone["open_key"]) == sorted(whole.filter(pl.col("household_id") == 10)["open_key"])
    assert len(alone) >= 1 and households in (1, 3)


def test_registry_recorded_recipient_counts() -> None:
    """A household whose member the registry records as 低保 (no enrollment yet) is a recipient: its new car
    within 12 months flags; a car from 13 months ago does not."""
    m = BASE.with_columns(recipient=pl.col("person_id") == 4)
    inp = Inputs(members=m, feed=feed(
        {"source_key": "vehicle", "person_id": 4, "event_date": date(2026, 1, 1), "code": "car"},
        {"source_key": "vehicle", "person_id": 4, "event_date": date(2025, 10, 1), "code": "truck"}))
    out = run_rule("vehicle", inp)
    assert subjects(out) == ["h30"]
    assert out["evidence"].to_list() == [['{"batch_id": 7, "row_number": 1, "source": "vehicle"}']]


def test_duplicate_probable_same_person_without_valid_id() -> None:
    """Households 10 and 20 enrolled. 赵五 (1970-05-05) is in household 10 with a valid ID and in household 20 as
    person 6 with a blank ID: probably one person → p5 and p6 flagged. 钱六 (1980-01-01) is in both households
    with two different valid IDs: namesakes → not flagged. 孙七 in household 30 (not enrolled) with a blank ID
    matches nobody enrolled."""
    valid = ["370784197005050011", "370784198001010013", "370784198001010021"]
    m = pl.concat([BASE, members((5, 10, "赵五", date(1970, 5, 5), {"id_number": valid[0]}),
                                 (6, 20, "赵五", date(1970, 5, 5), {"id_number": ""}),
                                 (7, 10, "钱六", date(1980, 1, 1), {"id_number": valid[1]}),
                                 (8, 20, "钱六", date(1980, 1, 1), {"id_number": valid[2]}),
                                 (9, 30, "赵五", date(1970, 5, 5), {"id_number": ""}))])
    out = run_rule("duplicate", Inputs(members=m, enrollments=ENR))
    assert subjects(out) == ["p5", "p6"]
    reasons = dict(zip(out["subject_key"], out["reason"], strict=True))
    assert "家庭 20" in reasons["p5"] and "家庭 10" in reasons["p6"]
