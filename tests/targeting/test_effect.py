"""核对成效 on a tiny county, counts and amounts computed by hand from the 安丘 pack, with area scoping.

Pack values used (370784 on these dates): 农村低保标准 537 元/人·月; income averaged over 12 months (every fact
here covers 2025-01-01..2026-12-31, so the whole window: its monthly amount is the average); financial assets at
most 24 × 719 (the urban standard) = 17,256 元 per person; no vehicle. Everyone is a single rural adult born
1976 with transfer income only (no employment-cost deduction).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, system_actor
from doudi.core.errors import PermissionDenied, ValidationFailed
from doudi.registry.models import Household
from doudi.targeting import export, service
from tests.factories import TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_A2


def _dibao(effect: service.Effect) -> dict[tuple[str, str], dict[str, Any]]:
    rows = effect.by_program.filter(pl.col("program") == "dibao")
    return {(r["township"], r["month"]): r for r in rows.iter_rows(named=True)}


def test_county_report_hand_checked(db: Session, county: dict[str, Household]) -> None:
    effect = service.verification_effect(db, actor=system_actor(), start=date(2026, 6, 1), end=date(2026, 8, 31))
    assert effect.requests.height == 4  # the September request is outside the period
    d = _dibao(effect)
    june_a, july_a, june_b = d[(TOWN_A, "2026-06")], d[(TOWN_A, "2026-07")], d[(TOWN_B, "2026-06")]
    # 甲: declared 200 → 537 − 200 = 337 granted; + business 500 → 700 > 537 refused.
    # 乙: declared 300 → 237 granted; a car (limit 0) and 30,000 > 17,256 of deposits → refused.
    assert (june_a["requests"], june_a["granted_before"], june_a["granted_after"]) == (2, 2, 0)
    assert june_a["granted_to_refused"] == 2 and june_a["saved"] == pytest.approx(337 + 237)
    assert june_a["added"] == 0
    # 丙: declared 400 → 137; the feed's 450 → 87: an amount cut of 50.
    assert (july_a["amount_down"], july_a["saved"], july_a["granted_to_refused"]) == (1, pytest.approx(50), 0)
    # 丁 (a review): declared 600 > 537 refused; the feed's 500 → 37 granted.
    assert (june_b["refused_to_granted"], june_b["added"], june_b["saved"]) == (1, pytest.approx(37), 0)
    found = {(r["township"], r["month"]): r for r in effect.by_place.iter_rows(named=True)}
    fa, fa7, fb = found[(TOWN_A, "2026-06")], found[(TOWN_A, "2026-07")], found[(TOWN_B, "2026-06")]
    assert (fa["hidden_business"], fa["income_households"], fa["vehicles"]) == (pytest.approx(500), 1, 1)
    assert (fa["deposits"], fa["deposit_households"], fa["deaths"]) == (pytest.approx(20000), 1, 0)
    assert (fa7["hidden_transfer"], fa7["income_households"], fa7["deaths"]) == (pytest.approx(50), 1, 1)
    # 丁 declared more than the feed says: no finding; the request counts as a review.
    assert (fb["income_households"], fb["hidden_transfer"], fb["applications"], fb["reviews"]) == (0, 0, 0, 1)


def test_township_sees_its_own(db: Session, county: dict[str, Household]) -> None:
    town_a = Actor(username="approver", area_code=TOWN_A, roles=frozenset({"township_approver"}))
    effect = service.verification_effect(db, actor=town_a, start=date(2026, 6, 1), end=date(2026, 8, 31))
    assert set(effect.requests["township"].to_list()) == {TOWN_A}
    assert effect.requests.height == 3  # 甲, 乙, 丙; 丁 lives in 景芝镇
    assert all(t == TOWN_A for t in effect.by_program["township"].to_list())
    # The township may narrow to a village, never widen to another township.
    narrowed = service.verification_effect(db, actor=town_a, start=date(2026, 6, 1), end=date(2026, 8, 31),
                                           area=VILLAGE_A2)
    assert narrowed.requests["household_id"].to_list() == [county["h2"].id]
    other = service.verification_effect(db, actor=town_a, start=date(2026, 6, 1), end=date(2026, 8, 31),
                                        area=TOWN_B)
    assert other.empty
    caseworker = Actor(username="village", area_code=VILLAGE_A1, roles=frozenset({"village_assistant"}))
    with pytest.raises(PermissionDenied):
        service.verification_effect(db, actor=caseworker, start=date(2026, 6, 1), end=date(2026, 8, 31))


def test_excel_and_bad_period(db: Session, county: dict[str, Household]) -> None:
    effect = service.verification_effect(db, actor=system_actor(), start=date(2026, 6, 1), end=date(2026, 8, 31))
    changes, findings, months = export.sheets(effect, {TOWN_A: "新安街道", TOWN_B: "景芝镇"})
    dibao = [r for r in changes.rows if r[2] == "最低生活保障"]
    assert [(r[0], r[1]) for r in dibao] == [("新安街道", "2026-06"), ("新安街道", "2026-07"), ("景芝镇", "2026-06")]
    assert next(c.header for c in months.cols()) == "月份"
    assert [r[0] for r in findings.rows] == ["新安街道", "新安街道", "景芝镇"]
    with pytest.raises(ValidationFailed):
        service.verification_effect(db, actor=system_actor(), start=date(2026, 8, 1), end=date(2026, 6, 1))


def test_workbench_chart(db: Session, county: dict[str, Household]) -> None:
    from doudi.web.charts import dashboard_charts

    officer = Actor(username="officer", area_code="370784", roles=frozenset({"county_officer"}))
    charts = {c.key: c for c in dashboard_charts(db, actor=officer, today=date(2026, 8, 20))}
    # June to 20 August: June has 甲 and 乙 refused after verification (2 programs rows or more), 丁 granted.
    rows = {r[0]: r for r in charts["targeting-changes"].rows}
    assert set(rows) == {"2026-06", "2026-07"}
    head = charts["targeting-changes"].head
    assert int(str(rows["2026-06"][head.index("符合→不符合")])) >= 2  # 低保 of 甲 and 乙 (other programs may add)
    assert int(str(rows["2026-07"][head.index("金额减少")])) >= 1  # 丙's 低保 cut by 50
    worker = Actor(username="worker", area_code=TOWN_A, roles=frozenset({"township_caseworker"}))
    assert not any(k.startswith("targeting") for k in (c.key for c in dashboard_charts(db, actor=worker,
                                                                                      today=date(2026, 8, 20))))
