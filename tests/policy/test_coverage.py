"""Every rule number of the digest, the seed and the articles is used by a hand-computed case: the pack gives
that number on the case's date, and changing it (or moving before the date a rule starts) changes the
result (cases/COVERAGE.yaml). Behaviour, not words in notes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from doudi.core.errors import ValidationFailed
from doudi.policy.params import PackError, load_pack
from tests.policy.test_cases import CASES, evaluate_case, problems_of

HERE = Path(__file__).parent
COVERAGE = yaml.safe_load((HERE / "cases" / "COVERAGE.yaml").read_text(encoding="utf-8"))
# The rule numbers of RULES.md, the seed summary and the source articles the rules rest on.
DIGEST_NUMBERS = {"1", "1.3", "1.5", "1.6", "2", "3", "4", "6", "10", "12", "16", "18", "24", "32", "60", "70", "537",
                  "719", "935", "960", "980", "1000", "1400", "1760", "5040", "6600", "2016", "2018-01-23", "2020",
                  "2020-08-25", "2020-12-01", "2021-07-01", "2022", "2025-01-01"}
ENTRIES = [(str(number), entry) for number, entries in COVERAGE["cases"].items() for entry in entries]


def _case(case_id: str) -> dict[str, Any]:
    found = [c for cid, c in CASES if cid == case_id or cid == case_id + "#1"]
    assert found, f"no case {case_id}"
    return found[0]


def _on(case: dict[str, Any]) -> date:
    return case["date"] if isinstance(case["date"], date) else date.fromisoformat(str(case["date"]))


def test_every_digest_number_has_a_case() -> None:
    assert set(COVERAGE["cases"]) >= DIGEST_NUMBERS


@pytest.mark.parametrize(("number", "entry"), ENTRIES, ids=[f"{n}-{e['case']}" for n, e in ENTRIES])
def test_the_case_depends_on_the_number(number: str, entry: dict[str, Any]) -> None:
    case = _case(entry["case"])
    assert not problems_of(case, evaluate_case(case)), "the case itself must pass"
    if "param" in entry:
        value = load_pack(case["household"]["area_code"]).value(entry["param"], _on(case))
        if "key" in entry:
            value = value[entry["key"]]
        assert float(value) == float(number), f"{entry['param']} is {value} on {_on(case)}, not {number}"
        changed = evaluate_case(case, overrides={entry["param"]: entry["changed"]})
    else:
        start = entry["before"] if isinstance(entry["before"], date) else date.fromisoformat(str(entry["before"]))
        assert str(start).startswith(number) or number in str(start)
        assert _on(case) >= start
        try:
            changed = evaluate_case(case, on=start - timedelta(days=1))
        except (ValidationFailed, PackError):
            return  # the rule's parameters did not exist yet: the case cannot even be evaluated
    assert problems_of(case, changed), f"{number}: the case {entry['case']} does not depend on it"


def test_tests_named_in_the_coverage_exist() -> None:
    for target in COVERAGE["tests"].values():
        path, func = target.split("::")
        assert f"def {func}(" in (HERE.parent.parent / path).read_text(encoding="utf-8"), target
