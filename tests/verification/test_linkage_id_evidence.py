"""What the ID number proves, in the linkage model: comparison kinds, double registrations, dob/sex from the ID,
the assignment, stored models and the namesake set.

Hand-computed GB 11643 numbers used below (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2;
check = "10X98765432"[sum % 11]):
- A = 370784 19700501 101 + check. Digits 3 7 0 7 8 4 1 9 7 0 0 5 0 1 1 0 1:
  21 + 63 + 0 + 35 + 64 + 16 + 2 + 9 + 42 + 0 + 0 + 45 + 0 + 5 + 8 + 0 + 2 = 312; 312 = 28 × 11 + 4 → '8'.
  A = 370784197005011018 (sequence 101 is odd: a man, born 1970-05-01).
- B = 370784 19700501 113 + check: the sequence digits weigh 1×8 + 1×4 + 3×2 = 18 instead of 1×8 + 0×4 + 1×2
  = 10, so the sum is 312 − 10 + 18 = 320 = 29 × 11 + 1 → '0'. B = 370784197005011130 (also a man, same day).
- A with its 16th digit mistyped 0 → 2: 370784197005011218; the sum grows by 2 × 4 = 8 to 320, whose check
  would be '0', not '8': invalid, one edit from A.
- A's first-generation 15-digit form drops the century and the check: 370784 700501 101 = 370784700501101.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from doudi.cli import app
from doudi.verification.linkage.engine import link_frames, one_to_one
from doudi.verification.linkage.model import (
    ID_BOTH_VALID,
    ID_EQUAL,
    ID_OLD_NEW,
    ID_TYPO,
    Thresholds,
    describe_evidence,
    load_config,
)
from doudi.verification.linkage.prepare import prepare_persons

A = "370784197005011018"
B = "370784197005011130"
A_TYPO = "370784197005011218"
A_OLD = "370784700501101"
COLS = ["record_id", "name", "id_number", "birth_date", "sex", "address"]
EVERY_PAIR = dataclasses.replace(load_config(), thresholds=Thresholds(auto_accept=0.95, review=0.0,
                                                                      exact_id_min=0.95))


def _person(rid: str, id_number: str | None, *, name: str = "王建国", born: str | None = "1970-05-01",
            sex: str | None = "M", address: str | None = "新安街道东村1号") -> dict[str, Any]:
    return {"record_id": rid, "name": name, "id_number": id_number, "birth_date": born, "sex": sex,
            "address": address}


def _link(left: dict[str, Any], right: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where the one pair ends (accepted, review, double) and its row, scored with every pair kept and the
    prior of a register of 100,000 persons (1e-5: any two records are rarely one person)."""
    res = link_frames(pl.DataFrame([left], schema=dict.fromkeys(COLS, pl.Utf8)),
                      pl.DataFrame([right], schema=dict.fromkeys(COLS, pl.Utf8)),
                      config=EVERY_PAIR, train=False, assignment="all", prior=1e-5)
    for where, frame in (("accepted", res.accepted), ("review", res.review), ("double", res.double)):
        if frame.height:
            assert frame.height == 1
            return where, frame.row(0, named=True)
    raise AssertionError("the pair was not compared")


def test_prepare_reads_birth_date_sex_and_area_from_the_id() -> None:
    frame = pl.DataFrame([_person("a", A, born=None, sex=None), _person("b", A, born="1971-05-01", sex="F"),
                          _person("c", A_OLD, born=None, sex=None), _person("d", A_TYPO, born=None, sex=None)],
                         schema=dict.fromkeys(COLS, pl.Utf8))
    out = prepare_persons(frame)
    # a: missing fields come from A (born 1970-05-01, 17th digit 1 is odd: male); b: its own fields disagree.
    assert out["dob"].to_list() == ["1970-05-01", "1971-05-01", "1970-05-01", "1970-05-01"]
    assert out["sex"].to_list() == ["M", "F", "M", None]  # an invalid number proves no sex
    assert out["dob_conflict"].to_list() == [False, True, False, False]
    assert out["sex_conflict"].to_list() == [False, True, False, False]
    assert out["id18"].to_list() == [A, A, A, None]  # the 15-digit form converts to A; the typo is invalid
    assert out["id_form"].to_list() == ["18", "18", "15", "18"]
    assert out["id_area"].to_list() == ["370784"] * 4


def test_equal_numbers() -> None:
    where, row = _link(_person("L", A), _person("R", A))
    assert (where, row["id_kind"], row["method"]) == ("accepted", ID_EQUAL, "id")


def test_fifteen_and_eighteen_digit_forms_of_one_number() -> None:
    where, row = _link(_person("L", A), _person("R", A_OLD, born=None, sex=None))
    assert (where, row["id_kind"], row["method"]) == ("accepted", ID_OLD_NEW, "id")


def test_one_edit_from_an_invalid_number_is_a_typo() -> None:
    where, row = _link(_person("L", A), _person("R", A_TYPO))
    assert (where, row["id_kind"], row["method"]) == ("accepted", ID_TYPO, "probabilistic")


def test_missing_number_leaves_the_other_fields_to_decide() -> None:
    where, row = _link(_person("L", A), _person("R", None))
    assert where == "accepted"
    assert json.loads(row["evidence"])["id_number"] == "missing"


def test_two_valid_numbers_with_same_name_sex_and_birth_date_are_a_possible_double_registration() -> None:
    """Never accepted, whatever the other fields say: queued as a possible double registration."""
    where, row = _link(_person("L", A), _person("R", B))
    assert (where, row["id_kind"]) == ("double", ID_BOTH_VALID)
    ev = dict(describe_evidence(json.loads(row["evidence"])))
    assert ev["身份证号"] == "两个不同的有效号码"
    assert (ev["姓名"], ev["出生日期"], ev["性别"]) == ("相同", "相同", "相同")


def test_two_valid_numbers_weigh_against_a_match() -> None:
    """The same name and birth date but another sex: not a double registration, and the number's weight
    (learned, not a veto) keeps the pair out of the accepted ones."""
    where, row = _link(_person("L", A), _person("R", B, sex="F", address="景芝镇南村3号"))
    assert where == "review" and row["id_kind"] == ID_BOTH_VALID
    assert row["match_probability"] < 0.95


def test_one_to_one_solves_the_assignment() -> None:
    """a–x 0.99, a–y 0.90, b–x 0.98. Greedy by probability takes a–x and leaves b alone; the assignment
    takes a–y and b–x: log2 odds 0.90 → 3.17 and 0.98 → 5.61 sum to 8.78, more than a–x alone (6.63)."""
    pairs = pl.DataFrame({"left_id": ["a", "a", "b"], "right_id": ["x", "y", "x"],
                          "match_probability": [0.99, 0.90, 0.98]})
    out = one_to_one(pairs)
    assert sorted(zip(out["left_id"], out["right_id"], strict=True)) == [("a", "y"), ("b", "x")]


def test_link_command_one_to_one_and_stored_model(tmp_path: Path) -> None:
    """Default many-to-one keeps both left rows of one person; --one-to-one keeps one. --model stores the
    trained model and the next run uses it without training."""
    left = pl.DataFrame([_person("L1", A), _person("L2", None)], schema=dict.fromkeys(COLS, pl.Utf8))
    right = pl.DataFrame([_person("R1", A)], schema=dict.fromkeys(COLS, pl.Utf8))
    left.write_csv(tmp_path / "L.csv")
    right.write_csv(tmp_path / "R.csv")
    runner = CliRunner()
    base = ["link", str(tmp_path / "L.csv"), str(tmp_path / "R.csv"), "--out", str(tmp_path / "P.csv")]
    assert runner.invoke(app, base).exit_code == 0
    assert pl.read_csv(tmp_path / "P.csv")["left_id"].sort().to_list() == ["L1", "L2"]
    assert runner.invoke(app, [*base, "--one-to-one"]).exit_code == 0
    assert pl.read_csv(tmp_path / "P.csv")["left_id"].to_list() == ["L1"]  # equal number beats no number
    model = tmp_path / "model.json"
    result = runner.invoke(app, [*base, "--train", "--model", str(model)])
    assert result.exit_code == 0, result.output
    stored = json.loads(model.read_text(encoding="utf-8"))
    assert stored["doudi_model_version"] and stored["comparisons"]
    again = runner.invoke(app, [*base, "--model", str(model)])
    assert again.exit_code == 0 and "使用已存模型" in again.output


@pytest.mark.slow
def test_namesake_set_f1() -> None:
    """The namesake set (same name, sex and birth date, another valid number or none): F1 ≥ 0.99."""
    from testkit.febrl import prf
    from testkit.persons import namesake_pair

    left, right, truth = namesake_pair(6000)
    res = link_frames(left, right, train=True)
    found = set(zip(res.accepted["left_id"], res.accepted["right_id"], strict=True))
    assert prf(found, truth)["f1"] >= 0.99
    assert res.double.height > 0  # namesakes with their own number reach the double-registration queue


def test_a_birth_date_the_number_contradicts_is_flagged_in_the_evidence() -> None:
    """R is born 1971-05-01 by its own field, but its number A says 1970-05-01 (digits 7-14: 19700501)."""
    where, row = _link(_person("L", A), _person("R", A, born="1971-05-01"))
    assert where == "accepted"
    ev = dict(describe_evidence(json.loads(row["evidence"])))
    assert ev["与身份证号不符"] == "候选人员的出生日期"
    assert ev["出生日期"] == "一位数字不同或两位颠倒"  # 1970-05-01 vs 1971-05-01: one digit
