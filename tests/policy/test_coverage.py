"""Every number of the rules digest and the seed appears in a hand-computed case (see cases/COVERAGE.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.policy.test_cases import CASES

HERE = Path(__file__).parent
COVERAGE = yaml.safe_load((HERE / "cases" / "COVERAGE.yaml").read_text(encoding="utf-8"))
# The rule numbers of RULES.md and the seed summary (amounts, thresholds, ages, multipliers, dates).
DIGEST_NUMBERS = {"1", "1.3", "1.5", "1.6", "2", "3", "4", "6", "10", "12", "16", "18", "24", "32", "60", "537",
                  "719", "935", "960", "980", "1000", "1400", "1760", "5040", "6600", "2016", "2020", "2020-12-01",
                  "2022"}


def _text(case_id: str) -> str:
    found = [c for cid, c in CASES if cid == case_id or cid.startswith(case_id + "#")]
    assert found, f"no case {case_id}"
    return " ".join(f"{c['name']} {c.get('note', '')}" for c in found)


def test_every_digest_number_has_a_case() -> None:
    assert set(COVERAGE["cases"]) >= DIGEST_NUMBERS


def test_each_listed_case_shows_the_number_in_its_arithmetic() -> None:
    missing = [f"{number} → {cid}" for number, ids in COVERAGE["cases"].items() for cid in ids
               if str(number) not in _text(cid)]
    assert not missing, "numbers not written in the case notes: " + ", ".join(missing)


def test_tests_named_in_the_coverage_exist() -> None:
    for target in COVERAGE["tests"].values():
        path, func = target.split("::")
        assert f"def {func}(" in (HERE.parent.parent / path).read_text(encoding="utf-8"), target
