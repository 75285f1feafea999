"""Charts on the workbench: caseload by step and program, the overdue trend, enrollments and amounts by township
and month. Each chart carries its numbers as a table too (for screen readers and export)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.cases.models import Case, CaseStep, Enrollment
from doudi.cases.notices import PROGRAM_LABELS
from doudi.cases.procedure import STEP_LABELS
from doudi.db.frames import read_frame
from doudi.targeting import export as targeting_export
from doudi.targeting import service as targeting_service

TREND_DAYS = 30
MONTHS = 6
TOWNSHIP_DIGITS = 9  # GB/T 2260 county code (6) + township (3)


@dataclass
class Chart:
    """An ECharts option and the same numbers as a table."""

    key: str
    title: str
    option: dict[str, Any]
    head: list[str]
    rows: list[list[object]] = field(default_factory=list)


ChartProvider = Callable[[Session, Actor, date], list[Chart]]
PROVIDERS: list[ChartProvider] = []


def register(provider: ChartProvider) -> ChartProvider:
    """Add a chart provider (domains call this for their own charts)."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


def dashboard_charts(session: Session, *, actor: Actor, today: date) -> list[Chart]:
    """Every chart the actor may see."""
    charts: list[Chart] = []
    for provider in PROVIDERS:
        charts.extend(provider(session, actor, today))
    return charts


def _bar(categories: list[str], series: list[dict[str, Any]], *, horizontal: bool = False) -> dict[str, Any]:
    cat_axis = {"type": "category", "data": categories}
    val_axis = {"type": "value", "minInterval": 1}
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True, "left": 8, "right": 16},
            "xAxis": val_axis if horizontal else cat_axis, "yAxis": cat_axis if horizontal else val_axis,
            "series": series}


@register
def _caseload(session: Session, actor: Actor, today: date) -> list[Chart]:
    if not actor.can("case.read"):
        return []
    steps = read_frame(session, select(CaseStep.key.label("step"), Case.programs.label("programs"))
                       .join(Case, Case.id == CaseStep.case_id)
                       .where(area_clause(Case.area_code, actor), CaseStep.status == "active"))
    if steps.is_empty():
        return []
    # A case deciding several programs counts once under each (its first program keeps the bar readable).
    steps = steps.with_columns(pl.col("programs").str.json_decode(pl.List(pl.String)).list.first()
                               .fill_null("").alias("program"))
    counts = steps.group_by("step", "program").len().sort("step", "program")
    order = [s for s in STEP_LABELS if s in set(counts["step"])]
    labels = [STEP_LABELS[s] for s in order]
    programs = sorted(set(counts["program"]))
    by_prog = {p: dict(zip(*counts.filter(pl.col("program") == p).select("step", "len"), strict=True))
               for p in programs}
    series = [{"name": PROGRAM_LABELS.get(p, p) or "未定", "type": "bar", "stack": "steps",
               "data": [int(by_prog[p].get(s, 0)) for s in order]} for p in programs]
    rows: list[list[object]] = [[label, *[int(by_prog[p].get(s, 0)) for p in programs]]
                                for s, label in zip(order, labels, strict=True)]
    head = ["环节", *[PROGRAM_LABELS.get(p, p) or "未定" for p in programs]]
    return [Chart("caseload", "在办案件：按环节与项目", _bar(labels, series, horizontal=True), head, rows)]


@register
def _overdue_trend(session: Session, actor: Actor, today: date) -> list[Chart]:
    if not actor.can("case.read"):
        return []
    start = today - timedelta(days=TREND_DAYS - 1)
    steps = read_frame(session, select(CaseStep.due_on, CaseStep.completed_at, CaseStep.status)
                       .join(Case, Case.id == CaseStep.case_id)
                       .where(area_clause(Case.area_code, actor), CaseStep.due_on.is_not(None),
                              CaseStep.due_on < today, CaseStep.status.in_(("active", "done"))))
    days = pl.DataFrame({"day": pl.date_range(start, today, "1d", eager=True)})
    if steps.is_empty():
        counts = days.with_columns(pl.lit(0, pl.UInt32).alias("n"))
    else:
        # Overdue on a day: due before it, and not completed by the end of the day before.
        done = pl.col("completed_at").dt.replace_time_zone(None).dt.date() if isinstance(
            steps.schema["completed_at"], pl.Datetime) else pl.col("completed_at")
        steps = steps.with_columns(done.alias("done_on"))
        counts = days.join(steps, how="cross").filter(
            (pl.col("due_on") < pl.col("day")) & (pl.col("done_on").is_null() | (pl.col("done_on") >= pl.col("day")))
        ).group_by("day").len("n")
        counts = days.join(counts, on="day", how="left").with_columns(pl.col("n").fill_null(0))
    counts = counts.sort("day")
    labels = [d.strftime("%m-%d") for d in counts["day"]]
    values = [int(v) for v in counts["n"]]
    option = {"tooltip": {"trigger": "axis"}, "grid": {"containLabel": True, "left": 8, "right": 16},
              "xAxis": {"type": "category", "data": labels}, "yAxis": {"type": "value", "minInterval": 1},
              "series": [{"name": "超时环节", "type": "line", "data": values, "areaStyle": {}}]}
    rows: list[list[object]] = [[d.isoformat(), v] for d, v in zip(counts["day"], values, strict=True)]
    return [Chart("overdue", f"超时环节：近 {TREND_DAYS} 天", option, ["日期", "超时环节数"], rows)]


def _month_starts(today: date, n: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return out[::-1]


@register
def _enrollments(session: Session, actor: Actor, today: date) -> list[Chart]:
    if not actor.can("case.read"):
        return []
    rows_ = read_frame(session, select(Enrollment.area_code, Enrollment.monthly_amount, Enrollment.start_month,
                                       Enrollment.end_month).where(area_clause(Enrollment.area_code, actor)))
    if rows_.is_empty():
        return []
    months = _month_starts(today, MONTHS)
    frame = rows_.with_columns(pl.col("area_code").str.slice(0, TOWNSHIP_DIGITS).alias("township"),
                               pl.col("monthly_amount").cast(pl.Decimal(18, 2)))
    in_force = pl.DataFrame({"month": months}).join(frame, how="cross").filter(
        (pl.col("start_month") <= pl.col("month"))
        & (pl.col("end_month").is_null() | (pl.col("end_month") > pl.col("month"))))
    by = in_force.group_by("township", "month").agg(pl.len().alias("n"), pl.col("monthly_amount").sum().alias("yuan"))
    towns = sorted(set(by["township"]))
    names = areas.names(session, codes=towns)
    month_labels = [m.strftime("%Y-%m") for m in months]
    series = []
    rows: list[list[object]] = []
    for town in towns:
        part = by.filter(pl.col("township") == town)
        n_by = dict(zip(part["month"], part["n"], strict=True))
        y_by = dict(zip(part["month"], part["yuan"], strict=True))
        name = names.get(town, town)
        series.append({"name": name, "type": "bar", "stack": "n", "data": [int(n_by.get(m, 0)) for m in months]})
        for m in months:
            amount = y_by.get(m) or Decimal(0)
            rows.append([name, m.strftime("%Y-%m"), int(n_by.get(m, 0)), f"{Decimal(amount):.2f}"])
    option = _bar(month_labels, series)
    return [Chart("enrollments", f"在保对象：按乡镇与月份（近 {MONTHS} 个月）", option,
                  ["乡镇", "月份", "在保数", "月保障金额（元）"], rows)]



@register
def _verification_effect(session: Session, actor: Actor, today: date) -> list[Chart]:
    """核对成效 of the last three months (the report page has any period): decisions verification changed."""
    if not actor.can("targeting.read"):
        return []
    start = (today.replace(day=1) - timedelta(days=62)).replace(day=1)
    effect = targeting_service.verification_effect(session, actor=actor, start=start, end=today)
    options = targeting_export.chart_options(effect, {})
    return [Chart(f"targeting-{o['key']}", o["title"], o["option"], o["head"], o["rows"])
            for o in options if o["key"] == "changes"]
