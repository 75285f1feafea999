"""Each program in one place: its declaration is complete, the engine, explanations and stored rows iterate
over the declared programs (a new module is picked up on its own), parameters have no silent defaults, and
no rule number lives in the Python rules."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from doudi.policy import engine, programs, spec
from doudi.policy.batch import decision_rows, member_rows
from doudi.policy.frames import from_json
from doudi.policy.params import PACK_DIR, MissingParameter, PackError, load_pack, parse_pack_file
from doudi.policy.prepare import SharedParams
from doudi.policy.programs import all_programs
from doudi.policy.protocol import STAGES, Params
from doudi.policy.schemas import HouseholdIn
from doudi.policy.service import evaluate

POLICY = Path(programs.__file__).parent.parent
ON = date(2024, 6, 1)
HOUSEHOLD = {"area_code": "370784001001", "hukou_type": "rural",
             "members": [{"relation": "head", "birth_date": "1979-01-01", "monthly_income": {"wage": 500}}]}


def test_every_program_declares_key_codes_outputs_params_and_dated_references() -> None:
    national = parse_pack_file(PACK_DIR / "national.yaml").params
    keys = [p.key for p in all_programs()]
    assert keys == ["dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship", "temporary_assistance",
                    "child_welfare", "disability_subsidies", "relative_poverty"]
    for prog in all_programs():
        assert prog.codes.program == prog.key and prog.label and issubclass(prog.params, Params)
        assert set(prog.stages) <= set(STAGES) and "household" in prog.stages
        for s in prog.params.specs():
            assert s.key in national, f"{prog.key}: {s.key} has no national definition (null where not in force)"
        topics = {t for r in prog.codes.reasons for t in r.refs} | set(prog.refs)
        missing = sorted(t for t in topics if f"refs.{t}" not in national)
        assert not missing, f"{prog.key}: reference topics without dated references: {missing}"


def test_parameters_are_read_without_defaults_and_fail_loudly() -> None:
    p = load_pack("370784").at(ON)
    without = replace(p, data={k: v for k, v in p.data.items() if k != "dibao.standard.rural"}, version="test-a")
    with pytest.raises(MissingParameter, match=r"dibao\.standard\.rural"):
        SharedParams.read(without)
    undefined = replace(p, defined=p.defined - {"age.adult"}, version="test-b")
    with pytest.raises(PackError, match=r"age\.adult"):
        SharedParams.read(undefined)
    with pytest.raises(PackError, match=r"dibao\.standard\.rural"):
        engine.resolve(["370784001001"], date(2019, 12, 31))  # 安丘's standards start in 2020


# 0/1, care ranks 1–3, months per year, percent; technical: 8-bit packing, Int32/Int64 mask widths, cache sizes,
# the most counties a batch is split by without copying, the households of a slice.
_ALLOWED_NUMBERS = {0, 1, 2, 3, 12, 100, 256, 31, 62, 4096, 64, 200_000}
_RULE_FILES = [*sorted((POLICY / "programs").glob("*.py")), POLICY / "prepare.py", POLICY / "engine.py",
               POLICY / "registry_frames.py"]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


@pytest.mark.parametrize("path", _RULE_FILES, ids=lambda p: p.name)
def test_no_rule_number_in_python(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Not rule numbers: rounding digits, slices of area codes, enumeration ranges and a program's declared order.
    skip = {id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) in {"round", "slice", "range"}
            for a in n.args} | {id(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
                                for k in n.keywords if k.arg == "order"}
    numbers = sorted({(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in skip
                      and isinstance(n.value, int | float) and not isinstance(n.value, bool)
                      and n.value not in _ALLOWED_NUMBERS and not (isinstance(n.value, float) and n.value.is_integer()
                                                                and int(n.value) in _ALLOWED_NUMBERS)})
    assert not numbers, f"{path.name}: numbers that belong in a policy pack: {numbers}"
    getters = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "get" and len(n.args) == 2 and isinstance(n.args[1], ast.Constant)
               and isinstance(n.args[1].value, int | float) and not isinstance(n.args[1].value, bool)]
    assert not getters, f"{path.name}: .get(key, <number>) at lines {getters}"
    texts = [a.value for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == "Reason"
             for a in n.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    dated = [t for t in texts if re.search(r"(19|20)\d\d-\d\d-\d\d|(19|20)\d\d ?年", t)]
    assert not dated, f"{path.name}: dates in rule texts (they come from the packs): {dated}"


TOY = '''
"""A toy program for the test: 取暖补助 for 低保 households (a flat amount from a pack parameter)."""
from dataclasses import dataclass
import polars as pl
from doudi.policy.protocol import Codes, Params, Program, Reason, param

class ToyParams(Params):
    pass

ToyParams = dataclass(frozen=True)(type("ToyParams", (Params,), {
    "__annotations__": {"amount": float},
    "amount": param("statistics.disposable_income.urban", "number"),
}))
CODES = Codes("heating_aid", [Reason("dibao_household", "低保家庭，取暖补助 {amount} 元", ("dibao.members",))])

def _household(h, q, on):
    ok = pl.col("dibao_household")
    return h.with_columns(heating_aid_eligible=ok, heating_aid_amount=pl.when(ok).then(q.amount / 1000).otherwise(0.0),
                          heating_aid_level=pl.lit(None, pl.String),
                          heating_aid_persons=pl.when(ok).then(pl.col("n")).otherwise(0),
                          heating_aid_reasons=CODES.mask([(ok, "dibao_household")]), heating_aid_in_force=pl.lit(True))

PROGRAM = Program(key="heating_aid", label="取暖补助", order=90, codes=CODES, params=ToyParams, refs=("dibao.members",),
                  stages={"household": _household}, trace=lambda h, ms, q, on: {"amount": q.amount / 1000})
'''


def _clear_caches() -> None:
    for fn in (programs.all_programs, spec.known, spec.required):
        fn.cache_clear()


def test_a_new_program_is_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "heating_aid.py").write_text(TOY, encoding="utf-8")
    monkeypatch.setattr(programs, "__path__", [*programs.__path__, str(tmp_path)])
    _clear_caches()
    try:
        result = evaluate(HouseholdIn.model_validate(HOUSEHOLD), ON)
        assert list(result["programs"])[-1] == "heating_aid"
        toy: dict[str, Any] = result["programs"]["heating_aid"]
        # 500 − 200 = 300 < 537 → a 低保 household; the toy pays 安丘's urban disposable income 38000 / 1000 = 38 yuan.
        assert toy["eligible"] is True and toy["monthly_amount"] == 38.0
        assert toy["reasons"][0]["text"] == "低保家庭，取暖补助 38 元"
        decisions = engine.evaluate_frames(from_json([HouseholdIn.model_validate(HOUSEHOLD)]), ON)
        assert "heating_aid" in set(decision_rows(decisions)["program"])
        assert set(member_rows(decisions)["program"]) == {"dibao"}
    finally:
        monkeypatch.undo()
        sys.modules.pop("doudi.policy.programs.heating_aid", None)
        _clear_caches()
    assert "heating_aid" not in evaluate(HouseholdIn.model_validate(HOUSEHOLD), ON)["programs"]
