"""Report 30 (issue 15 item 11): a house declared at 145,400 and found in the property register, which records
the house but not its price, is not "无差异" at a verified 0.00; its value is reported as not verified."""

from __future__ import annotations

from datetime import date

import polars as pl

from doudi.verification.report import ReportParams, compute

PARAMS = ReportParams(counted_kinds=("wage", "business", "property", "transfer"), tolerance_ratio=0.1,
                      tolerance_yuan=50.0)
INCOME = {"household_id": pl.Int64, "person_id": pl.Int64, "kind": pl.Utf8, "amount": pl.Float64,
          "period_start": pl.Date, "period_end": pl.Date}


def _run(verified_value: float) -> tuple[dict[str, object], str]:
    members = pl.DataFrame({"household_id": [30], "person_id": [1], "name": ["甲"]})
    declared_income = pl.DataFrame(schema=INCOME)
    verified_income = pl.DataFrame(schema={**INCOME, "source_key": pl.Utf8})
    declared_assets = pl.DataFrame({"household_id": [30], "kind": ["residential_property"], "quantity": [1],
                                    "value": [145_400.0], "exempt": [False]})
    verified_assets = pl.DataFrame({"household_id": [30], "person_id": [1], "source_key": ["real_estate"],
                                    "kind": ["residential_property"], "quantity": [1], "value": [verified_value],
                                    "exempt": [False], "description": ["东村 86㎡"]})
    statuses = pl.DataFrame(schema={"household_id": pl.Int64, "person_id": pl.Int64, "source_key": pl.Utf8,
                                    "finding": pl.Utf8})
    r = compute(members=members, declared_income=declared_income, verified_income=verified_income,
                declared_assets=declared_assets, verified_assets=verified_assets, statuses=statuses,
                period_start=date(2026, 5, 1), period_end=date(2026, 10, 31), params=PARAMS)
    return r.asset_compare.row(0, named=True), r.conclusions[30]


def test_a_house_the_register_does_not_value_is_not_verified() -> None:
    row, text = _run(0.0)  # 不动产登记 gives the house, not a price: stored as 0.00
    assert row["declared_count"] == row["verified_count"] == 1
    assert row["verified_value"] is None and row["unvalued"] and not row["flagged"]
    assert "无差异" not in text and "与部门数据一致，未发现需要说明的差异" not in text
    assert "住房的数量、未提供价值，申报的价值未经核对" in text


def test_a_valued_house_is_compared() -> None:
    # Declared 145,400; an agency valuing it at 200,000 is more than 145,400 × 1.1 + 50 = 159,990: flagged.
    row, text = _run(200_000.0)
    assert row["verified_value"] == 200_000.0 and row["flagged"] and not row["unvalued"]
    assert "需申请人说明或入户核实" in text
    # Valued at 150,000 ≤ 159,990: consistent.
    row, text = _run(150_000.0)
    assert not row["flagged"] and text.endswith("未发现需要说明的差异。")
