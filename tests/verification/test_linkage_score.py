"""Scoring in DuckDB on row-number keys (score.py) gives Splink's own predictions, and the one-edit test by
Hamming distance gives the edit distance's answer.

The persons are hand-built variants of one man (ID 370784197005011018, check digit worked out in
test_linkage_id_evidence.py): a mistyped digit, a homophone name, a transposed birth date, a namesake.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import polars as pl
import pytest

from doudi.verification.linkage import score
from doudi.verification.linkage.engine import _default_model
from doudi.verification.linkage.model import comparisons, load_config, one_edit_sql, prediction_rules
from doudi.verification.linkage.prepare import prepare_persons

COLS = ["record_id", "name", "id_number", "birth_date", "sex", "address"]


@pytest.mark.parametrize(("a", "b", "within"), [
    ("1970-05-01", "1970-05-01", True),  # equal
    ("1970-05-01", "1970-05-07", True),  # one digit
    ("1970-05-01", "1970-50-01", True),  # two adjacent characters swapped (distance 1)
    ("1970-05-01", "1970-10-05", False),  # three digits differ
    ("1970-05-01", "1907-05-10", False),  # two transpositions
    ("370784197005011018", "37078419700501108", True),  # one digit dropped
    ("370784197005011018", "3707841970050110018", True),  # one digit added
    ("370784197005011018", "370784197005011", False),  # three dropped
    ("370784197005011018", "370784197005011218", True),  # one digit mistyped
    ("370784197005011018", "370784197005010118", True),  # 15th and 16th swapped
    ("370784197005011018", "370784197005012218", False),  # two digits mistyped, not adjacent swaps
    ("12", "21", True),
    ("ab", "ba c", False),
])
def test_one_edit_by_hamming_agrees_with_edit_distance(a: str, b: str, within: bool) -> None:
    con = duckdb.connect()
    fast = con.execute(f"SELECT {one_edit_sql('a', 'b')} FROM (SELECT ?::VARCHAR AS a, ?::VARCHAR AS b)",
                       [a, b]).fetchall()[0][0]
    plain = con.execute(f"SELECT {one_edit_sql('a', 'b', 'spark')} FROM (SELECT ?::VARCHAR AS a, ?::VARCHAR AS b)",
                        [a, b]).fetchall()[0][0]
    assert (fast, plain) == (within, within)


def test_one_edit_of_a_missing_value_is_no_level() -> None:
    con = duckdb.connect()
    got = con.execute(f"SELECT coalesce({one_edit_sql('a', 'b')}, false) FROM (SELECT NULL::VARCHAR AS a, "
                      "'1970-05-01' AS b)").fetchall()[0][0]
    assert got is False


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict.fromkeys(COLS, pl.Utf8), orient="row")


LEFT = _frame([
    ("l1", "王建国", "370784197005011018", "1970-05-01", "M", "新安街道东村1号"),
    ("l2", "李秀英", None, "1981-03-12", "F", "景芝镇西庄5号"),
    ("l3", "张伟", "370784196502021234", "1965-02-02", "M", "官庄镇南村2号"),
    ("l4", "刘芳", "370784199011300026", "1990-11-30", None, None),
])
RIGHT = _frame([
    ("r1", "王建国", "370784197005011218", "1970-05-01", "M", "新安街道东村1号"),  # a mistyped digit
    ("r2", "李秀瑛", None, "1981-03-21", "F", "景芝镇西庄5号"),  # a homophone, a transposed birth day
    ("r3", "张玮", None, "1965-02-02", "M", "官庄镇南村"),  # a homophone, no ID
    ("r4", "刘芳", "370784199011300042", "1990-11-30", "F", "兴安街道"),  # a namesake, another valid ID
    ("r5", "王建国", "370784197005011130", "1970-05-01", "M", "辉渠镇"),  # a namesake of l1
])


def test_scores_match_splink_predict() -> None:
    """Every candidate pair, its match weight and its comparison levels, as Splink's own predict gives them."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    lp = prepare_persons(LEFT).with_columns(pl.lit(False).alias("settled"))
    rp = prepare_persons(RIGHT).with_columns(pl.lit(False).alias("settled"))
    db = DuckDBAPI()
    settings = SettingsCreator(link_type="link_only", unique_id_column_name="record_id", comparisons=comparisons(),
                               blocking_rules_to_generate_predictions=prediction_rules(),  # type: ignore[arg-type]
                               probability_two_random_records_match=1e-4, retain_matching_columns=True)
    linker = Linker([db.register(lp.to_arrow(), table_name="a"), db.register(rp.to_arrow(), table_name="b")],
                    settings, log_level=logging.WARNING)
    _default_model(linker, load_config().defaults)
    cols = "record_id_l, record_id_r, round(match_weight, 9) AS w, gamma_id_number, gamma_name, gamma_dob, " \
           "gamma_sex, gamma_address, gamma_id_area"
    splink = linker.inference.predict().as_duckdbpyrelation().select(cols).pl().sort("record_id_l", "record_id_r")

    con = db.duckdb_con
    score.register(con, linker._settings_obj, lp, rp)
    n = score.block(con, prediction_rules())
    ours = con.sql(f"SELECT {cols} FROM ({score.predict_sql(linker._settings_obj)})").pl() \
        .sort("record_id_l", "record_id_r")
    # Blocking by hand: l1 meets r1 (birth date and surname sound) and r5; l2 meets r2 (the surname's sound and
    # year with the same name sound); l3 meets r3 (birth date and surname); l4 meets r4 (birth date and surname).
    pairs = set(zip(ours["record_id_l"], ours["record_id_r"], strict=True))
    assert pairs == {("l1", "r1"), ("l1", "r5"), ("l2", "r2"), ("l3", "r3"), ("l4", "r4")}
    assert n == 5
    assert ours.equals(splink)
