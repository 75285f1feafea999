"""The 核对成效 report as Excel sheets (the shared, formula-safe writer) and as chart options."""

from __future__ import annotations

from typing import Any

import polars as pl

from doudi.cases.labels import PROGRAM_LABELS
from doudi.core.excel import Col, Sheet
from doudi.targeting import rules
from doudi.targeting.service import Effect, monthly_totals

YUAN = "#,##0.00"
DIRECTIONS = [d for d in rules.Direction if d != rules.Direction.UNCHANGED]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheets(effect: Effect, names: dict[str, str]) -> list[Sheet]:
    """Three sheets: decisions changed per township, month and program; findings per township and month; the
    per-month totals."""
    caption = f"核对成效统计（{effect.start} 至 {effect.end}）"
    money_cols = [Col("每月减少支出(元)", 16, number_format=YUAN), Col("每月增加支出(元)", 16, number_format=YUAN)]
    changes = Sheet("决定变化", [Col("乡镇（街道）", 18), Col("月份", 9), Col("救助项目", 20), Col("核对户次", 9),
                              Col("仅申报符合", 10), Col("核对后符合", 10),
                              *[Col(rules.DIRECTION_LABELS[d], 12) for d in DIRECTIONS], *money_cols],
                    [[names.get(r["township"], r["township"]), r["month"],
                      PROGRAM_LABELS.get(r["program"], r["program"]), r["requests"], r["granted_before"],
                      r["granted_after"], *[r[d.value] for d in DIRECTIONS], r["saved"], r["added"]]
                     for r in effect.by_program.iter_rows(named=True)], caption=caption)
    found_cols = [c for c in rules.FINDING_LABELS if c in effect.by_place.columns]
    money = {"hidden_wage", "hidden_business", "hidden_property", "hidden_transfer", "deposits"}
    findings = Sheet("核对发现", [Col("乡镇（街道）", 18), Col("月份", 9), Col("核对户次", 9), Col("申请", 8),
                              Col("复核", 8), *[Col(rules.FINDING_LABELS[c], 16,
                                                    number_format=YUAN if c in money else None) for c in found_cols]],
                     [[names.get(r["township"], r["township"]), r["month"], r["requests"], r["applications"],
                       r["reviews"], *[r[c] for c in found_cols]] for r in effect.by_place.iter_rows(named=True)],
                     caption=caption)
    totals = monthly_totals(effect)
    months = Sheet("按月合计", [Col("月份", 9), *[Col(rules.DIRECTION_LABELS[d], 12) for d in DIRECTIONS],
                             *money_cols],
                   [[r["month"], *[r[d.value] for d in DIRECTIONS], r["saved"], r["added"]]
                    for r in totals.iter_rows(named=True)], caption=caption)
    return [changes, findings, months]


def chart_options(effect: Effect, names: dict[str, str]) -> list[dict[str, Any]]:
    """ECharts options: decision changes by month and direction, monthly amount saved and added, and findings by
    township. Each comes with its numbers as a table (head, rows)."""
    totals = monthly_totals(effect)
    if totals.is_empty():
        return []
    months = totals["month"].to_list()
    out: list[dict[str, Any]] = []
    series = [{"name": rules.DIRECTION_LABELS[d], "type": "bar", "stack": "changes",
               "data": totals[d.value].to_list()} for d in DIRECTIONS]
    out.append({"key": "changes", "title": "核对改变的决定：按月份与方向",
                "option": _bar(months, series),
                "head": ["月份", *[rules.DIRECTION_LABELS[d] for d in DIRECTIONS]],
                "rows": [[m, *[totals[d.value][i] for d in DIRECTIONS]] for i, m in enumerate(months)]})
    money = [{"name": "每月减少支出(元)", "type": "bar", "data": totals["saved"].to_list()},
             {"name": "每月增加支出(元)", "type": "bar", "data": totals["added"].to_list()}]
    out.append({"key": "worth", "title": "核对改变的每月救助金额",
                "option": _bar(months, money, integer=False),
                "head": ["月份", "每月减少支出(元)", "每月增加支出(元)"],
                "rows": [[m, totals["saved"][i], totals["added"][i]] for i, m in enumerate(months)]})
    place = effect.by_place.group_by("township").agg(
        pl.col(c).sum() for c in ("income_households", "vehicles", "properties", "businesses", "deposit_households",
                                  "deaths")).sort("township")
    towns = [names.get(t, t) for t in place["township"].to_list()]
    kinds = {"income_households": "隐瞒收入(户)", "vehicles": "车辆(辆)", "properties": "房产(套)",
             "businesses": "市场主体(户)", "deposit_households": "金融资产(户)", "deaths": "死亡未报(人)"}
    found = [{"name": label, "type": "bar", "stack": "found", "data": place[c].to_list()} for c, label in kinds.items()]
    out.append({"key": "findings", "title": "核对发现：按乡镇（街道）",
                "option": _bar(towns, found, horizontal=True),
                "head": ["乡镇（街道）", *kinds.values()],
                "rows": [[t, *[place[c][i] for c in kinds]] for i, t in enumerate(towns)]})
    return out


def _bar(categories: list[str], series: list[dict[str, Any]], *, horizontal: bool = False,
         integer: bool = True) -> dict[str, Any]:
    cat_axis = {"type": "category", "data": categories}
    val_axis: dict[str, Any] = {"type": "value", **({"minInterval": 1} if integer else {})}
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True, "left": 8, "right": 16},
            "xAxis": val_axis if horizontal else cat_axis, "yAxis": cat_axis if horizontal else val_axis,
            "series": series}
