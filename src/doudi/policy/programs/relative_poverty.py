"""江门 相对贫困人口 (“两线合一”): the 2016 income line, and from 2020 the 12-indicator,
three-dimension assessment driven by a configurable indicator table.

The table (parameter ``relative_poverty.indicators``) has one row per indicator::

    {dimension: income|structure|living, indicator: id, label: 中文, feature: <name>, op: "<"|"<="|">"|">="|"==",
     threshold: number, points: number, weight: number, required: bool, from: date}

A row in force on the evaluation date scores ``points × weight`` when ``feature op threshold`` holds;
the household qualifies when the score reaches ``relative_poverty.pass_score`` and every required row
holds. Features are household columns listed in :data:`FEATURES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.params import PackError
from doudi.policy.programs.base import Codes, Reason, by_hukou

KEY = "relative_poverty"
LABEL = "相对贫困人口（江门）"
SEED = "江门“两线合一”相对贫困认定（种子文章）"
GD = "广东省最低生活保障家庭经济状况核对和生活状况评估认定办法"
REFS = (SEED, GD)

FEATURES: dict[str, str] = {
    "pc_income_ratio": "人均计算收入 ÷ 低保标准",
    "financial_assets_pc_months": "人均金融资产折合低保标准月数",
    "rigid_expense_share": "前 12 个月刚性支出 ÷ 家庭年收入",
    "no_labour_share": "无劳动能力成员占比",
    "labour_capable_members": "有劳动能力成员数",
    "severe_disabled_members": "重度残疾成员数",
    "seriously_ill_members": "重病成员数",
    "elderly_members": "老年成员数",
    "dependants": "未成年或在学成员数",
    "household_size": "家庭人口",
    "residential_properties": "住房套数",
    "vehicles": "机动车数",
    "business_registrations": "市场主体登记数",
    "unsafe_housing": "住房不安全（1/0）",
    "no_safe_water": "饮水不安全（1/0）",
}
_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq"}

CODES = Codes(KEY, [
    Reason("not_in_force", "本地区未实行相对贫困认定", (SEED,)),
    Reason("line_below",
           "2016 年标准：低保家庭有劳动能力，年人均收入 {annual_pc_income} 元低于识别线 {income_line} "
           "元",
           (SEED,)),
    Reason("line_above", "2016 年标准：年人均收入 {annual_pc_income} 元不低于识别线 {income_line} 元", (SEED,)),
    Reason("line_not_dibao", "2016 年标准只在有劳动能力的低保家庭中识别", (SEED,)),
    Reason("score_pass", "2020 年多维评估：得分 {score}，达到 {pass_score} 分", (SEED, GD)),
    Reason("score_fail", "2020 年多维评估：得分 {score}，未达到 {pass_score} 分", (SEED, GD)),
    Reason("required_failed", "必备指标未满足：{failed_required}", (GD,)),
])


def features() -> dict[str, pl.Expr]:
    """The feature columns the indicator table may reference."""
    n = pl.max_horizontal(pl.col("n_counted"), pl.lit(1))
    return {
        "pc_income_ratio": pl.col("pc_income_all") / pl.col("std"),
        "financial_assets_pc_months": pl.col("financial_assets") / n / pl.col("std"),
        "rigid_expense_share": pl.col("expense_share"),
        "no_labour_share": pl.col("n_no_labour") / n,
        "labour_capable_members": pl.col("n_labour_all"),
        "severe_disabled_members": pl.col("n_severe"),
        "seriously_ill_members": pl.col("n_ill"),
        "elderly_members": pl.col("n_elderly"),
        "dependants": pl.col("n_dependants"),
        "household_size": pl.col("n_counted"),
        "residential_properties": pl.col("residential_properties"),
        "vehicles": pl.col("vehicles"),
        "business_registrations": pl.col("business_registrations"),
        "unsafe_housing": pl.col("unsafe_housing").cast(pl.Int32),
        "no_safe_water": pl.col("no_safe_water").cast(pl.Int32),
    }


def indicators_on(p: Mapping[str, Any], on: date) -> list[dict[str, Any]]:
    """The indicator rows in force on `on`, validated (PackError names the bad row)."""
    rows = []
    for i, row in enumerate(p.get("relative_poverty.indicators") or []):
        where = f"relative_poverty.indicators[{i}]"
        if not isinstance(row, dict):
            raise PackError(f"{where}: 应为映射")
        for needed in ("dimension", "indicator", "feature", "op", "threshold", "points", "weight"):
            if needed not in row:
                raise PackError(f"{where}: 缺少 {needed}")
        if row["feature"] not in FEATURES:
            raise PackError(f"{where}: 未知特征 {row['feature']}（可用：{', '.join(FEATURES)}）")
        if row["op"] not in _OPS:
            raise PackError(f"{where}: 未知比较符 {row['op']}")
        start = row.get("from")
        if start is None or (date.fromisoformat(start) if isinstance(start, str) else start) <= on:
            rows.append(row)
    return rows


def household(h: pl.DataFrame, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Decision columns (needs dibao_eligible, n_labour_all and the feature columns)."""
    method = p.get("relative_poverty.method")
    if method == "income_line":
        line = by_hukou(p, "relative_poverty.income_line")
        annual = pl.col("annual_pc_income")
        ok = pl.col("dibao_eligible") & (pl.col("n_labour_all") > 0) & (annual < line)
        h = h.with_columns(income_line=line, rp_annual=annual.round(2), relative_poverty_eligible=ok.fill_null(False),
                           rp_score=pl.lit(None, pl.Float64), rp_required_failed=pl.lit(""))
        return h.with_columns(relative_poverty_reasons=CODES.mask([
            (pl.col("dibao_eligible") & (pl.col("n_labour_all") > 0) & (annual < line), "line_below"),
            (annual >= line, "line_above"),
            (~(pl.col("dibao_eligible") & (pl.col("n_labour_all") > 0)), "line_not_dibao"),
        ]))
    if method == "multidimensional":
        rows = indicators_on(p, on)
        feats = features()
        score_terms, required = [], []
        for row in rows:
            cond = getattr(feats[row["feature"]], _OPS[row["op"]])(float(row["threshold"])).fill_null(False)
            score_terms.append(pl.when(cond).then(float(row["points"]) * float(row["weight"])).otherwise(0.0))
            if row.get("required"):
                required.append(pl.when(cond).then(None).otherwise(pl.lit(str(row.get("label", row["indicator"])))))
        pass_score = float(p.get("relative_poverty.pass_score", 0))
        score = pl.sum_horizontal(score_terms).round(2) if score_terms else pl.lit(0.0)
        failed = pl.concat_str(required, separator="、", ignore_nulls=True) if required else pl.lit("")
        h = h.with_columns(rp_score=score, rp_required_failed=failed.fill_null(""),
                           income_line=pl.lit(None, pl.Float64), rp_annual=pl.col("annual_pc_income"))
        ok = (pl.col("rp_score") >= pass_score) & (pl.col("rp_required_failed") == "") & (pl.col("n_counted") > 0)
        h = h.with_columns(relative_poverty_eligible=ok)
        return h.with_columns(relative_poverty_reasons=CODES.mask([
            (pl.col("rp_score") >= pass_score, "score_pass"),
            (pl.col("rp_score") < pass_score, "score_fail"),
            (pl.col("rp_required_failed") != "", "required_failed"),
        ]))
    return h.with_columns(relative_poverty_eligible=pl.lit(False), rp_score=pl.lit(None, pl.Float64),
                          rp_required_failed=pl.lit(""), income_line=pl.lit(None, pl.Float64),
                          rp_annual=pl.lit(None, pl.Float64),
                          relative_poverty_reasons=pl.lit(CODES.bit("not_in_force"), pl.Int64))


def indicator_details(p: Mapping[str, Any], on: date, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-indicator results for one household's trace (row = that household's feature values)."""
    out = []
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}
    for ind in indicators_on(p, on):
        value = row.get(f"f_{ind['feature']}")
        met = value is not None and ops[ind["op"]](value, float(ind["threshold"]))
        out.append({"dimension": ind["dimension"], "indicator": ind["indicator"], "label": ind.get("label", ""),
                    "feature": ind["feature"], "value": None if value is None else round(float(value), 4),
                    "rule": f"{ind['op']} {ind['threshold']}", "met": bool(met),
                    "points": float(ind["points"]) * float(ind["weight"]) if met else 0.0,
                    "required": bool(ind.get("required", False))})
    return out
