"""江门 相对贫困人口 (“两线合一”): identified among 低保 households (“扶贫对象就是低保对象”, seed), by the
income line (2016) and from 2020 by the 12-indicator, three-dimension assessment driven by a configurable
indicator table.

The table (parameter ``relative_poverty.indicators``) has one row per indicator::

    {dimension: income|structure|living, indicator: id, label: 中文, feature: <name>, op: "<"|"<="|">"|">="|"==",
     threshold: number, points: number, weight: number, required: bool, from: date}

A row in force on the evaluation date scores ``points × weight`` when ``feature op threshold`` holds;
a 低保 household qualifies when the score reaches ``relative_poverty.pass_score`` and every required
row holds. Features are household columns listed in :data:`FEATURES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import Codes, Params, Program, Reason, by_hukou, param
from doudi.policy.resolved import PackError

KEY = "relative_poverty"

FEATURES: dict[str, str] = {
    "pc_income_ratio": "人均计算收入 ÷ 低保标准",
    "financial_assets_pc_months": "人均金融资产折合低保标准月数",
    "rigid_expense_share": "刚性支出 ÷ 家庭总收入",
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


@dataclass(frozen=True)
class RPParams(Params):
    """Parameters of the 江门 relative-poverty identification."""

    method: str | None = param("relative_poverty.method", "str", optional=True)
    line_urban: float | None = param("relative_poverty.income_line.urban", "number", optional=True)
    line_rural: float | None = param("relative_poverty.income_line.rural", "number", optional=True)
    indicators: list[dict[str, Any]] | None = param("relative_poverty.indicators", "list", optional=True)
    pass_score: float | None = param("relative_poverty.pass_score", "number", optional=True)


CODES = Codes(KEY, [
    Reason("not_in_force", "本地区未实行相对贫困认定", ()),
    Reason("not_dibao", "相对贫困人口从低保家庭中认定（“扶贫对象就是低保对象”），本户不是低保家庭",
           ("relative_poverty.identification",)),
    Reason("no_labour_capacity", "收入线识别只在有劳动能力的低保家庭中进行，本户无有劳动能力的成员",
           ("relative_poverty.identification",)),
    Reason("line_below", "收入线识别：年人均收入 {annual_pc_income} 元低于识别线 {income_line} 元",
           ("relative_poverty.identification",)),
    Reason("line_above", "收入线识别：年人均收入 {annual_pc_income} 元不低于识别线 {income_line} 元",
           ("relative_poverty.identification",)),
    Reason("score_pass", "多维评估：得分 {score}，达到 {pass_score} 分", ("relative_poverty.multidimensional",)),
    Reason("score_fail", "多维评估：得分 {score}，未达到 {pass_score} 分", ("relative_poverty.multidimensional",)),
    Reason("required_failed", "必备指标未满足：{failed_required}", ("relative_poverty.multidimensional",)),
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


def indicators_on(rows: list[dict[str, Any]] | None, on: date) -> list[dict[str, Any]]:
    """The indicator rows in force on `on`, validated (PackError names the bad row)."""
    out = []
    for i, row in enumerate(rows or []):
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
            out.append(row)
    return out


def _unit_sums(q: RPParams) -> dict[str, tuple[pl.Expr, str]]:
    counted = pl.col("counted")
    if q.method is None:
        return {}  # not identified here: no household needs the counts
    return {
        "n_no_labour": (counted & pl.col("no_labour"), "sum"),
        "n_labour_all": (counted & pl.col("labour_capable") & pl.col("working_age"), "sum"),
        "n_severe": (counted & pl.col("severe"), "sum"),
        "n_ill": (counted & pl.col("serious_illness"), "sum"),
        "n_elderly": (counted & pl.col("elderly"), "sum"),
        "n_dependants": (counted & (pl.col("minor") | pl.col("student")), "sum"),
    }


def _outputs(h: pl.DataFrame, method: str | None, ok: pl.Expr) -> pl.DataFrame:
    persons = pl.col("n_counted").cast(pl.Int32)
    return h.with_columns(relative_poverty_eligible=ok.fill_null(False)).with_columns(
        relative_poverty_amount=pl.lit(0.0),
        relative_poverty_level=pl.lit(method, pl.String),
        relative_poverty_persons=pl.when(pl.col("relative_poverty_eligible")).then(persons).otherwise(0),
        relative_poverty_in_force=pl.lit(method is not None),
    )


def _household(h: pl.DataFrame, q: RPParams, on: date) -> pl.DataFrame:
    """Decision columns (needs dibao_household, n_labour_all and the feature columns)."""
    dibao = pl.col("dibao_household")
    if q.method == "income_line":
        line = by_hukou(q.line_urban, q.line_rural)
        annual = pl.col("annual_pc_income")
        labour = pl.col("n_labour_all") > 0
        h = h.with_columns(income_line=line, rp_annual=annual.round(2), rp_score=pl.lit(None, pl.Float64),
                           rp_required_failed=pl.lit(""))
        h = _outputs(h, q.method, dibao & labour & (annual < line))
        return h.with_columns(relative_poverty_reasons=CODES.mask([
            (~dibao, "not_dibao"),
            (dibao & ~labour, "no_labour_capacity"),
            (annual < line, "line_below"),
            (annual >= line, "line_above"),
        ]))
    if q.method == "multidimensional":
        if q.pass_score is None:
            raise PackError("relative_poverty.method 为 multidimensional，但 relative_poverty.pass_score 没有有效值")
        feats = features()
        score_terms, required = [], []
        for row in indicators_on(q.indicators, on):
            cond = getattr(feats[row["feature"]], _OPS[row["op"]])(float(row["threshold"])).fill_null(False)
            score_terms.append(pl.when(cond).then(float(row["points"]) * float(row["weight"])).otherwise(0.0))
            if row.get("required"):
                required.append(pl.when(cond).then(None).otherwise(pl.lit(str(row.get("label", row["indicator"])))))
        score = pl.sum_horizontal(score_terms).round(2) if score_terms else pl.lit(0.0)
        failed = pl.concat_str(required, separator="、", ignore_nulls=True) if required else pl.lit("")
        h = h.with_columns(rp_score=score, rp_required_failed=failed.fill_null(""),
                           income_line=pl.lit(None, pl.Float64), rp_annual=pl.col("annual_pc_income"))
        passed = (pl.col("rp_score") >= q.pass_score) & (pl.col("rp_required_failed") == "")
        h = _outputs(h, q.method, dibao & passed & (pl.col("n_counted") > 0))
        return h.with_columns(relative_poverty_reasons=CODES.mask([
            (~dibao, "not_dibao"),
            (pl.col("rp_score") >= q.pass_score, "score_pass"),
            (pl.col("rp_score") < q.pass_score, "score_fail"),
            (pl.col("rp_required_failed") != "", "required_failed"),
        ]))
    if q.method is not None:
        raise PackError(f"relative_poverty.method 应为 income_line 或 multidimensional，实为 {q.method!r}")
    h = h.with_columns(rp_score=pl.lit(None, pl.Float64), rp_required_failed=pl.lit(""),
                       income_line=pl.lit(None, pl.Float64), rp_annual=pl.lit(None, pl.Float64))
    return _outputs(h, None, pl.lit(False)).with_columns(
        relative_poverty_reasons=pl.lit(CODES.bit("not_in_force"), pl.Int64))


def indicator_details(rows: list[dict[str, Any]] | None, on: date, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-indicator results for one household's trace (row = that household's feature values)."""
    out = []
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}
    for ind in indicators_on(rows, on):
        value = row.get(ind["feature"])
        met = value is not None and ops[ind["op"]](value, float(ind["threshold"]))
        out.append({"dimension": ind["dimension"], "indicator": ind["indicator"], "label": ind.get("label", ""),
                    "feature": ind["feature"], "value": None if value is None else round(float(value), 4),
                    "rule": f"{ind['op']} {ind['threshold']}", "met": bool(met),
                    "points": float(ind["points"]) * float(ind["weight"]) if met else 0.0,
                    "required": bool(ind.get("required", False))})
    return out


def _features_of(h: Mapping[str, Any]) -> dict[str, Any]:
    n = max(h["n_counted"], 1)
    return {
        "pc_income_ratio": h["pc_income_all"] / h["std"], "financial_assets_pc_months": h["financial_assets"] / n
        / h["std"], "rigid_expense_share": h["expense_share"], "no_labour_share": h["n_no_labour"] / n,
        "labour_capable_members": h["n_labour_all"], "severe_disabled_members": h["n_severe"],
        "seriously_ill_members": h["n_ill"], "elderly_members": h["n_elderly"], "dependants": h["n_dependants"],
        "household_size": h["n_counted"], "residential_properties": h["residential_properties"],
        "vehicles": h["vehicles"], "business_registrations": h["business_registrations"],
        "unsafe_housing": int(bool(h["unsafe_housing"])), "no_safe_water": int(bool(h["no_safe_water"])),
    }


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: RPParams, on: date) -> dict[str, Any]:
    del ms
    t: dict[str, Any] = {"method": q.method, "annual_pc_income": h["rp_annual"], "income_line": h["income_line"],
                         "score": h["rp_score"], "pass_score": q.pass_score, "failed_required": h["rp_required_failed"]}
    if q.method == "multidimensional":
        t["indicators"] = indicator_details(q.indicators, on, _features_of(h))
    return t


PROGRAM = Program(
    key=KEY, label="相对贫困人口（江门）", order=80, codes=CODES, params=RPParams,
    refs=("relative_poverty.identification", "relative_poverty.multidimensional"),
    stages={"household": _household},
    trace=_trace,
    unit_sums=_unit_sums,
)
