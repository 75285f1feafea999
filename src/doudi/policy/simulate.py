"""Reform simulation: evaluate the same population under the current packs and under changed
parameters, and report the change in eligible households, persons and monthly cost per township and
per program."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import yaml

from doudi.core.errors import FieldError, ValidationFailed
from doudi.policy.engine import evaluate_frames, long_decisions
from doudi.policy.frames import Frames
from doudi.policy.params import PackError, load_pack
from doudi.policy.programs import keys as program_keys
from doudi.policy.spec import kind_of, kind_ok

_METRICS = ("households", "persons", "monthly_cost")


@dataclass
class SimulationReport:
    """Baseline vs reform, by township and program, with the overrides that were applied."""

    on: date
    overrides: dict[str, Any]
    by_township: pl.DataFrame  # township, program, base_*, reform_*, delta_*
    by_program: pl.DataFrame  # program, base_*, reform_*, delta_*
    provisional: list[str]  # overridden keys whose current value is still provisional
    households: int
    skipped: int = 0  # households set aside: no complete pack, or a value every rule reads missing (reported)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (deterministic order)."""
        return {"date": self.on.isoformat(), "overrides": self.overrides, "households": self.households,
                "skipped_households": self.skipped,
                "provisional_overridden": self.provisional,
                "by_program": self.by_program.to_dicts(), "by_township": self.by_township.to_dicts()}


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``key=value`` pairs (values in YAML syntax: 600, 1.5, true, [a, b]); every bad one is listed."""
    out: dict[str, Any] = {}
    errors = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            errors.append(FieldError(field="--set", message=f"应为 参数=值 形式：{item!r}"))
            continue
        try:
            out[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            errors.append(FieldError(field=key, message=f"无法解析的值 {raw!r}"))
    try:
        checked = check_overrides(out)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return checked


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Check names and value kinds of parameter overrides; every bad one is listed."""
    errors = []
    for key, value in overrides.items():
        kind = kind_of(key)
        if kind is None and not key.count("."):
            errors.append(FieldError(field=key, message="参数名应为点分形式，如 dibao.standard.rural"))
        elif kind and not kind_ok(kind, value):
            errors.append(FieldError(field=key, message=f"值 {value!r} 的类型应为 {kind}"))
    if errors:
        raise ValidationFailed(errors)
    return dict(overrides)


def _totals(long: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return long.filter(pl.col("eligible")).group_by(keys).agg(
        households=pl.len().cast(pl.Int64), persons=pl.col("persons").sum().cast(pl.Int64),
        monthly_cost=pl.col("monthly_amount").sum())


def _compare(base: pl.DataFrame, reform: pl.DataFrame, keys: list[str], grid: pl.DataFrame) -> pl.DataFrame:
    b = _totals(base, keys).rename({m: f"base_{m}" for m in _METRICS})
    r = _totals(reform, keys).rename({m: f"reform_{m}" for m in _METRICS})
    out = grid.join(b, on=keys, how="left").join(r, on=keys, how="left").fill_null(0)
    out = out.with_columns([(pl.col(f"reform_{m}") - pl.col(f"base_{m}")).alias(f"delta_{m}") for m in _METRICS])
    order = {k: i for i, k in enumerate(program_keys())}
    return out.with_columns(pl.col(c).round(2) for c in out.columns if c.endswith("monthly_cost")).sort(
        *[k for k in keys if k != "program"], pl.col("program").replace_strict(order, return_dtype=pl.Int32))


def simulate(frames: Frames, on: date, overrides: Mapping[str, Any]) -> SimulationReport:
    """Run the baseline and the reform on the same frames and compare them."""
    if not overrides:
        raise ValidationFailed([FieldError(field="--set", message="至少需要一个参数调整")])
    area_codes = frames.households["area_code"].unique().to_list()
    provisional, known = set(), set()
    for county in sorted({c[:6] for c in area_codes}):
        pack = load_pack(county)
        for key in overrides:
            if key in pack.params:
                known.add(key)
                if pack.param(key).source_on(on).provisional:
                    provisional.add(key)
    unknown = [k for k in overrides if k not in known]
    if unknown:
        raise ValidationFailed([FieldError(field=k, message="参数包中没有该参数") for k in unknown])
    try:
        base_d = evaluate_frames(frames, on, skip_unconfigured=True)
        base = long_decisions(base_d)
        reform = long_decisions(evaluate_frames(frames, on, overrides=overrides, skip_unconfigured=True))
    except PackError as exc:
        raise ValidationFailed([FieldError(field="--set", message=str(exc))]) from None
    if base.is_empty():
        raise ValidationFailed([FieldError(field="area", message="范围内没有参数包完整的家庭")])
    programs = pl.DataFrame({"program": list(program_keys())})
    townships = base.select("township").unique().join(programs, how="cross")
    return SimulationReport(
        on=on, overrides=dict(overrides),
        by_township=_compare(base, reform, ["township", "program"], townships),
        by_program=_compare(base, reform, ["program"], programs),
        provisional=sorted(provisional), households=base_d.households.height,
        skipped=base_d.skipped.height if base_d.skipped is not None else 0,
    )
