"""Runs the policy cases in tests/policy/cases/<region>/*.yaml: readable households with hand-computed
expectations (the arithmetic is in each case's `note`).

A case: ``name, region, date, household, expected`` and optional ``note`` and ``overrides`` (parameter
values to use instead of the pack's, e.g. ``dibao.benefit.method: tiered``). ``expected`` maps dotted
paths into the evaluation JSON (``programs.dibao.monthly_amount``, ``programs.extreme_poverty.members[0].care_level``)
to values; numbers match to the fen. A list of codes under a ``reasons`` path must equal the reason codes
given, exactly (no missing and no unexpected extra reasons; order does not matter). Optional
``text_contains`` / ``text_absent`` list words every / no reason text may hold, and ``refs_absent`` texts
no reference of the decision may cite (a decision cites the texts in force on its date).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from doudi.policy.engine import evaluate_frames
from doudi.policy.explain import household_json
from doudi.policy.frames import from_json
from doudi.policy.schemas import EvaluationResult, HouseholdIn
from doudi.policy.service import evaluate

CASES_DIR = Path(__file__).parent / "cases"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    """Every case with an id 'region/file[#n]'."""
    out = []
    for path in sorted(CASES_DIR.glob("*/*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        for i, doc in enumerate(docs):
            cid = f"{path.parent.name}/{path.stem}" + (f"#{i + 1}" if len(docs) > 1 else "")
            out.append((cid, {**doc, "_path": path}))
    return out


def lookup(data: Any, path: str) -> Any:
    """Follow a dotted path with [i] indexes."""
    for name, index in _STEP.findall(path):
        data = data[int(index)] if index else data[name]
    return data


CASES = load_cases()


def test_every_region_folder_has_cases() -> None:
    regions = {cid.split("/")[0] for cid, _ in CASES}
    assert {"370784", "440700", "440781", "440783", "440785"} <= regions


def evaluate_case(case: dict[str, Any], *, on: date | None = None,
                  overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The evaluation JSON of a case (optionally on another date or with other parameter values)."""
    when = on or (case["date"] if isinstance(case["date"], date) else date.fromisoformat(str(case["date"])))
    household = HouseholdIn.model_validate(case["household"])
    changed = {**(case.get("overrides") or {}), **(overrides or {})}
    if changed:
        decisions = evaluate_frames(from_json([household]), when, overrides=changed)
        return EvaluationResult.model_validate(household_json(decisions, 0)).model_dump(mode="json")
    return evaluate(household, when)


def problems_of(case: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Every expectation of the case the result does not meet."""
    problems = []
    for path, want in case["expected"].items():
        try:
            got = lookup(result, path)
        except (KeyError, IndexError, TypeError):
            problems.append(f"{path}: missing in the result")
            continue
        if isinstance(want, float | int) and not isinstance(want, bool) and isinstance(got, float | int):
            ok = abs(float(got) - float(want)) < 0.005
        elif isinstance(want, list) and all(isinstance(w, str) for w in want) and path.endswith("reasons"):
            codes = [r["code"] for r in got]
            ok = sorted(codes) == sorted(want)
            if not ok:
                problems.append(f"{path}: expected exactly {sorted(want)}, got {sorted(codes)}")
                continue
        else:
            ok = got == want
        if not ok:
            problems.append(f"{path}: expected {want!r}, got {got!r}")
    texts = " ".join(r["text"] for prog in result["programs"].values() for r in prog["reasons"])
    refs = {ref for prog in result["programs"].values() for r in prog["reasons"] for ref in r["refs"]} | {
        ref for prog in result["programs"].values() for ref in prog["refs"]}
    problems += [f"reason text contains {w!r}" for w in case.get("text_absent", []) if w in texts]
    problems += [f"no reason text contains {w!r}" for w in case.get("text_contains", []) if w not in texts]
    problems += [f"a reference cites {w!r}: {sorted(r for r in refs if w in r)}" for w in case.get("refs_absent", [])
                 if any(w in r for r in refs)]
    return problems


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[cid for cid, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    for key in ("name", "region", "date", "household", "expected", "note"):
        assert key in case, f"{case['_path']}: missing {key}"
    result = evaluate_case(case)
    assert result["pack"]["region"] == str(case["region"]), "the area code selected another pack"
    problems = problems_of(case, result)
    assert not problems, f"{case['name']}:\n  " + "\n  ".join(problems)
