"""The single evaluation's caches (recorded rule steps, declared sums, typed parameters, provisional keys) are
kept per pack version: an edited pack file or a simulated override gives new values at once, and the cached
single case stays byte-identical to the same households evaluated in one batch."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from doudi.core.errors import ValidationFailed
from doudi.policy import engine, params
from doudi.policy.engine import evaluate_frames
from doudi.policy.explain import household_json
from doudi.policy.frames import from_json
from doudi.policy.schemas import HouseholdIn
from doudi.policy.service import evaluate, evaluate_many

ON = date(2024, 6, 1)
# The household of tests/policy/test_api_pages.py: 安丘, rural, three members, 900 wage.
HOUSEHOLD: dict[str, Any] = {
    "area_code": "370784001001", "hukou_type": "rural", "has_capable_supporter": True,
    "members": [
        {"relation": "head", "birth_date": "1980-01-01", "monthly_income": {"wage": 900}},
        {"relation": "spouse", "birth_date": "1982-03-01"},
        {"relation": "child", "birth_date": "2015-09-01", "student": True},
    ],
}
OTHERS: list[dict[str, Any]] = [
    {"area_code": "370784002", "hukou_type": "urban", "members": [
        {"relation": "head", "birth_date": "1950-03-01", "self_care_unable_items": 4,
         "monthly_income": {"basic_pension": 150}}]},
    {"area_code": "440781100001", "hukou_type": "rural", "has_capable_supporter": False, "members": [
        {"relation": "head", "birth_date": "1975-05-01", "disability": {"category": "physical", "grade": 1}},
        {"relation": "child", "birth_date": "2012-01-01", "child_status": "in_hardship"}],
     "temporary_need": {"kind": "emergency", "amount": 800}},
]


def _dibao(result: dict) -> tuple[float, float]:  # type: ignore[type-arg]
    return result["household"]["standard"], result["programs"]["dibao"]["monthly_amount"]


def test_an_edited_pack_file_replaces_the_cached_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packs = tmp_path / "packs"
    shutil.copytree(params.PACK_DIR, packs)
    monkeypatch.setattr(params, "PACK_DIR", packs)
    household = HouseholdIn.model_validate(HOUSEHOLD)
    first = evaluate(household, ON)
    # (900 − 200) / 3 = 233.33 < 537 → 537 × 3 − 700 = 911, + minor 0.1 × 537 = 53.7 → 964.70.
    assert _dibao(first) == (537, 964.7)
    assert evaluate(household, ON) == first  # the second call replays the cached steps
    county = packs / "370784.yaml"
    text = county.read_text(encoding="utf-8")
    assert "{from: 2020-01-01, value: 537}" in text
    county.write_text(text.replace("{from: 2020-01-01, value: 537}", "{from: 2020-01-01, value: 600}"),
                      encoding="utf-8")
    stat = county.stat()
    os.utime(county, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later edit, whatever the clock
    second = evaluate(household, ON)
    # 600 × 3 − 700 = 1100, + minor 0.1 × 600 = 60 → 1160.00.
    assert _dibao(second) == (600, 1160.0)
    assert second["pack"]["version"] != first["pack"]["version"]
    versions = {key[3] for key in engine._PLANS if key[1:3] == ("370784", ON)}
    assert {first["pack"]["version"], second["pack"]["version"]} <= versions


def test_an_override_does_not_leak_into_the_cached_pack() -> None:
    household = HouseholdIn.model_validate(HOUSEHOLD)
    base = evaluate(household, ON)
    changed = household_json(evaluate_frames(from_json([household]), ON,
                                             overrides={"dibao.standard.rural": 600}), 0)
    assert changed["programs"]["dibao"]["monthly_amount"] == 1160.0
    assert changed["pack"]["version"] != base["pack"]["version"]
    assert evaluate(household, ON) == base
    assert _dibao(base) == (537, 964.7)


def test_single_cases_are_byte_identical_to_one_batch() -> None:
    households = [HouseholdIn.model_validate({**h, "household_id": i + 1})
                  for i, h in enumerate([HOUSEHOLD, *OTHERS])]
    batch = evaluate_many(households, ON)
    for household, together in zip(households, batch, strict=True):
        for _ in range(2):  # cold and cached
            alone = evaluate(household, ON)
            assert json.dumps(alone, ensure_ascii=False) == json.dumps(together, ensure_ascii=False)


def test_a_small_batch_runs_its_steps_as_one_query_with_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    households = [HouseholdIn.model_validate({**h, "household_id": i + 1})
                  for i, h in enumerate([HOUSEHOLD, *OTHERS])]
    chained = evaluate_frames(from_json(households), ON)
    monkeypatch.setattr(engine, "CHAIN_BELOW", 0)  # the path of batches of 1024 households and more
    stepwise = evaluate_frames(from_json(households), ON)
    assert_frame_equal(chained.households, stepwise.households)
    assert_frame_equal(chained.members, stepwise.members)
    assert chained.households["dibao_amount"].round(2).to_list()[0] == 964.7


def test_an_edited_pack_missing_a_value_is_refused_despite_the_cached_check(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The completeness check is kept per pack version: a pack edited to leave the rural standard without a
    value on the date is refused at once, naming the key, and a fixed pack is accepted again."""
    packs = tmp_path / "packs"
    shutil.copytree(params.PACK_DIR, packs)
    monkeypatch.setattr(params, "PACK_DIR", packs)
    household = HouseholdIn.model_validate(HOUSEHOLD)
    assert _dibao(evaluate(household, ON)) == (537, 964.7)
    county = packs / "370784.yaml"
    text = county.read_text(encoding="utf-8")

    def edit(new: str, seconds: int) -> None:
        county.write_text(new, encoding="utf-8")
        stat = county.stat()
        os.utime(county, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))

    edit(text.replace("{from: 2020-01-01, value: 537}", "{from: 2030-01-01, value: 537}"), 1)
    with pytest.raises(ValidationFailed, match=r"缺少参数：dibao\.standard\.rural"):
        evaluate(household, ON)
    edit(text, 2)
    assert _dibao(evaluate(household, ON)) == (537, 964.7)
