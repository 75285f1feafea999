"""Runs every program on a batch of households, applies the mutual exclusions, and returns one
decision frame per household plus one per member.

Households are partitioned by the policy pack that governs them (a handful of regions), and each
partition runs the same vectorised Polars functions with that pack's values; a single case is just a
one-household batch, so the online and the overnight results cannot differ.

Mutual exclusions applied here:
- a 特困 person is supported on their own and leaves the 低保 unit (社会救助暂行办法 Art. 14);
- a minor who qualifies both as 特困 and as an orphan or de-facto unsupported child gets the higher
  of the two, and only that one (特困人员认定办法 Art. 9);
- a de-facto unsupported child already on 低保/特困 gets the difference up to the allowance
  (事实无人抚养儿童意见 三（一）); one on the full allowance gets no 困难残疾人生活补贴;
- 低保边缘 requires not 低保; 刚性支出困难 requires neither 低保, 边缘 nor 特困.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import polars as pl

from doudi.policy import prepare
from doudi.policy.frames import Frames, conform
from doudi.policy.params import Pack, PackError, Resolved, load_pack
from doudi.policy.programs import (
    child_welfare,
    dibao,
    dibao_marginal,
    disability_subsidies,
    extreme_poverty,
    relative_poverty,
    rigid_expense_hardship,
    temporary_assistance,
)
from doudi.policy.programs.base import money
from doudi.policy.segments import Segments
from doudi.policy.spec import REQUIRED

PROGRAMS = ("dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship", "temporary_assistance",
            "child_welfare", "disability_subsidies", "relative_poverty")
MODULES = {m.KEY: m for m in (dibao, dibao_marginal, extreme_poverty, rigid_expense_hardship,
                              temporary_assistance, child_welfare, disability_subsidies, relative_poverty)}
_CARE_RANK = {"self_care": 1, "partial": 2, "full": 3}


@dataclass
class Decisions:
    """Per-household and per-member decision frames, and the packs that applied (by region)."""

    households: pl.DataFrame
    members: pl.DataFrame
    packs: dict[str, Pack]
    params: dict[str, Resolved]
    on: date
    skipped: pl.DataFrame | None = None  # households whose region has no complete pack (household_id, reason)


def resolve(area_codes: list[str], on: date, overrides: Mapping[str, Any] | None = None,
            problems: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, Pack], dict[str, Resolved]]:
    """county code → pack region, and each region's pack and values on `on` (checked complete).

    An incomplete region raises PackError, or is left out and described in `problems` when that is given.
    """
    county_region: dict[str, str] = {}
    packs: dict[str, Pack] = {}
    for county in sorted({c[:6] for c in area_codes}):
        pack = load_pack(county)
        county_region[county] = pack.region
        if pack.region not in packs:
            try:
                packs[pack.region] = pack.with_overrides(overrides, on=on) if overrides else pack
            except PackError as exc:
                if problems is None:
                    raise
                problems[pack.region] = str(exc)
    resolved: dict[str, Resolved] = {}
    for region, pack in packs.items():
        if problems and region in problems:
            continue
        values = pack.at(on)
        missing = [k for k in REQUIRED if k not in values]
        if missing:
            message = f"{pack.name}（{region}）在 {on} 缺少参数：{', '.join(missing)}；请补充该地区的政策参数包"
            if problems is None:
                raise PackError(message)
            problems[region] = message
            continue
        resolved[region] = values
    return county_region, packs, resolved


def evaluate_frames(frames: Frames, on: date, *, overrides: Mapping[str, Any] | None = None,
                    skip_unconfigured: bool = False) -> Decisions:
    """Evaluate every program for every household in the frames on date `on`.

    With `skip_unconfigured`, households of regions without a complete pack are set aside in
    `Decisions.skipped` (with the reason) instead of failing the whole batch.
    """
    frames = conform(frames)
    hh, mem = frames.households, frames.members
    problems: dict[str, str] | None = {} if skip_unconfigured else None
    county_region, packs, resolved = resolve(hh["area_code"].unique().to_list(), on, overrides, problems)
    hh = hh.with_columns(pack_region=pl.col("area_code").str.slice(0, 6).replace_strict(county_region,
                                                                                         return_dtype=pl.String))
    skipped = None
    if problems:
        bad = pl.col("pack_region").is_in(list(problems))
        skipped = hh.filter(bad).select("household_id", "area_code",
                                        reason=pl.col("pack_region").replace_strict(problems, return_dtype=pl.String))
        hh = hh.filter(~bad)
        mem = mem.join(hh.select("household_id"), on="household_id", how="semi")
    # The segment arithmetic needs both frames in household order (snapshots usually already are).
    if not hh["household_id"].is_sorted():
        hh = hh.sort("household_id")
    if not mem["household_id"].is_sorted():
        mem = mem.sort("household_id", "member_idx")
    if hh["household_id"].is_duplicated().any():
        raise ValueError("household_id 重复")
    h_parts, m_parts = [], []
    regions = list(resolved)
    if not regions:
        return Decisions(households=pl.DataFrame(), members=pl.DataFrame(), packs={}, params={}, on=on,
                         skipped=skipped)
    if len(regions) == 1:
        h_by, m_by = {regions[0]: hh}, {regions[0]: mem}
    else:
        # Each member follows its household's pack; one pass splits both frames.
        seg = Segments.of(hh["household_id"], mem["household_id"])
        region_of_member = hh["pack_region"].gather(seg.member_rows)
        h_by = {k[0]: v for k, v in hh.partition_by("pack_region", as_dict=True).items()}
        m_by = {k[0]: v.drop("_region") for k, v in mem.with_columns(_region=region_of_member)
                .partition_by("_region", as_dict=True).items()}
    for region in regions:
        empty = mem.clear()
        h_out, m_out = run_partition(h_by[region], m_by.get(region, empty), resolved[region], on)
        h_parts.append(h_out)
        m_parts.append(m_out)
    households = pl.concat(h_parts, how="diagonal_relaxed") if h_parts else pl.DataFrame()
    members = pl.concat(m_parts, how="diagonal_relaxed") if m_parts else pl.DataFrame()
    return Decisions(households=households, members=members, packs={r: packs[r] for r in resolved},
                     params=resolved, on=on, skipped=skipped)


class _Recorder:
    """Stands in for a frame to record a rule function's column steps (expressions are immutable)."""

    def __init__(self) -> None:
        self.steps: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def with_columns(self, *args: Any, **kwargs: Any) -> _Recorder:
        self.steps.append((args, kwargs))
        return self


_PLANS: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}


def _run(fn: Callable[..., Any], df: pl.DataFrame, p: Resolved, *args: Any) -> pl.DataFrame:
    """Apply a rule function's column steps, building its expressions once per pack values and date.

    Building Polars expressions costs more than evaluating them on one household, so a single-case
    evaluation reuses the steps recorded the first time; the batch and the single case run the same steps.
    """
    key = (fn.__module__, fn.__qualname__, p.region, p.on, p.version, args)
    steps = _PLANS.get(key)
    if steps is None:
        recorder = _Recorder()
        fn(recorder, p, *args)
        if len(_PLANS) > 2048:
            _PLANS.clear()
        steps = _PLANS[key] = _merge(recorder.steps)
    for step_args, step_kwargs in steps:
        df = df.with_columns(*step_args, **step_kwargs)
    return df


def _named(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, pl.Expr]] | None:
    """A step's expressions with their output names (None when a name cannot be known)."""
    out: list[tuple[str, pl.Expr]] = []
    for a in args:
        for e in a if isinstance(a, list | tuple) else [a]:
            if not isinstance(e, pl.Expr):
                return None
            try:
                out.append((e.meta.output_name(), e))
            except Exception:  # multi-column or unnamed expression: keep the step as it is
                return None
    out.extend((k, v if isinstance(v, pl.Expr) else pl.lit(v)) for k, v in kwargs.items())
    return out


def _merge(steps: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Fuse consecutive steps that do not read or rewrite each other's new columns (fewer passes, same result)."""
    merged: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    current: dict[str, pl.Expr] = {}
    for args, kwargs in steps:
        named = _named(args, kwargs)
        if named is None:
            if current:
                merged.append(((), current))
                current = {}
            merged.append((args, kwargs))
            continue
        reads = {r for _, e in named for r in e.meta.root_names()}
        writes = {n for n, _ in named}
        if current and (reads & set(current) or writes & set(current)):
            merged.append(((), current))
            current = {}
        current.update(named)
    if current:
        merged.append(((), current))
    return merged


def _members_programs(m: pl.DataFrame, p: Resolved) -> pl.DataFrame:
    """特困 and child criteria, their mutual exclusion, 特困 reasons and 分类施保 increments."""
    m = child_welfare.members(extreme_poverty.members(m, p), p)
    # 特困认定办法 Art. 9: a minor qualifying for both is kept in the better of the two programs only.
    both = pl.col("ep_ok") & pl.col("cw_ok") & pl.col("cw_art9")
    prefer_cw = both & (pl.col("cw_allowance") >= pl.col("ep_full_amount"))
    # 困境儿童意见 三（一）: a child in hardship who meets the 特困 criteria is supported as 特困.
    hardship_in_ep = pl.col("ep_ok") & pl.col("cw_ok") & (pl.col("child_status") == "in_hardship")
    m = m.with_columns(ep_eligible=pl.col("ep_ok") & ~prefer_cw,
                       cw_eligible=pl.col("cw_ok") & ~(both & ~prefer_cw) & ~hardship_in_ep)
    m = m.with_columns(ep_amount=pl.when(pl.col("ep_eligible")).then(pl.col("ep_full_amount")).otherwise(0.0))
    return dibao.member_columns(extreme_poverty.reasons(m, p), p)


def _household_dibao(h: pl.DataFrame, p: Resolved, on: date) -> pl.DataFrame:
    return dibao_marginal.household(dibao.household(h, p, on), p)


def _members_after_dibao(m: pl.DataFrame, p: Resolved) -> pl.DataFrame:
    """Single-person inclusion, who is in 低保 and with what share, child amounts, disability subsidies."""
    counted = pl.col("counted")
    m = dibao.single_person(m, p).with_columns(
        db_included=(counted & ~pl.col("ep_eligible") & (pl.col("h_db_main") | pl.col("h_db_exit")))
        | pl.col("db_single"),
        h_marginal=pl.col("h_marginal_test"),
    ).with_columns(
        db_person_amount=pl.when(pl.col("ep_eligible")).then(pl.col("ep_amount"))
        .when(pl.col("db_single")).then(pl.col("db_single_amount"))
        .when(pl.col("db_included")).then(pl.col("h_db_person_amount")).otherwise(0.0),
    )
    return disability_subsidies.members(child_welfare.amounts(m, p), p)


@lru_cache(maxsize=1)
def _unit_sums() -> dict[str, tuple[pl.Expr, str]]:
    counted = pl.col("counted")
    return {
        **dibao.aggregations(),
        "income_all": (pl.when(counted).then(pl.col("income_counted")).otherwise(0.0), "sum"),
        "n_no_labour": (counted & pl.col("no_labour"), "sum"),
        "n_labour_all": (counted & pl.col("labour_capable") & pl.col("working_age"), "sum"),
        "n_severe": (counted & pl.col("severe"), "sum"),
        "n_ill": (counted & pl.col("serious_illness"), "sum"),
        "n_elderly": (counted & pl.col("elderly"), "sum"),
        "n_dependants": (counted & (pl.col("minor") | pl.col("student")), "sum"),
    }


@lru_cache(maxsize=1)
def _person_sums() -> dict[str, tuple[pl.Expr, str]]:
    return {
        "single_members": (pl.col("db_single"), "sum"),
        "single_amount": (pl.col("db_single_amount"), "sum"),
        "extreme_poverty_persons": (pl.col("ep_eligible"), "sum"),
        "extreme_poverty_amount": (pl.col("ep_amount"), "sum"),
        "ep_top_rank": (pl.when(pl.col("ep_eligible")).then(pl.col("ep_rank").cast(pl.Int64)).otherwise(0), "max"),
        "extreme_poverty_reasons": (pl.col("ep_reasons"), "or"),
        "child_welfare_persons": (pl.col("cw_eligible"), "sum"),
        "child_welfare_amount": (pl.col("cw_amount"), "sum"),
        "child_welfare_reasons": (pl.col("cw_reasons"), "or"),
        "disability_subsidies_persons": (pl.col("ds_eligible"), "sum"),
        "disability_subsidies_amount": (pl.col("ds_amount"), "sum"),
        "disability_subsidies_reasons": (pl.col("ds_reasons"), "or"),
    }


_N_COUNTED = {"n_counted": (pl.col("counted"), "sum")}
_TO_MEMBERS = {c: c for c in ("urban", "std", "prop_ok", "has_capable_supporter", "supporter_assumed")}
_DIBAO_TO_MEMBERS = {"h_db_main": "db_main", "h_db_exit": "db_exit", "h_marginal_test": "marginal_test",
                     "h_prop_ok": "prop_ok", "h_per_capita_income": "per_capita_income", "h_pc_exact": "pc_exact",
                     "h_db_person_amount": "db_person_amount"}


def run_partition(hh: pl.DataFrame, mem: pl.DataFrame, p: Resolved, on: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All programs for households governed by one pack (both frames sorted by household_id)."""
    seg = Segments.of(hh["household_id"], mem["household_id"])
    m = _run(prepare.members, mem, p, on)
    h = _run(prepare.households, hh.with_columns(**seg.aggregate(m, _N_COUNTED)), p)
    m = _run(_members_programs, m.with_columns(seg.broadcast(h, _TO_MEMBERS)), p)
    h = _run(_household_dibao, h.with_columns(**seg.aggregate(m, _unit_sums())), p, on)
    m = _run(_members_after_dibao, m.with_columns(seg.broadcast(h, _DIBAO_TO_MEMBERS)), p)
    h = _run(_finalize, h.with_columns(**seg.aggregate(m, _person_sums())), p, on)
    return h, m


def _finalize(h: pl.DataFrame, p: Resolved, on: date) -> pl.DataFrame:
    """Household-level decisions of every program, in the shared output naming."""
    method = str(p["dibao.benefit.method"])
    exit_amount = pl.when(pl.col("db_exit")).then(pl.col("dibao_current_amount").fill_null(0.0)).otherwise(0.0)
    n = pl.max_horizontal(pl.col("n_counted"), pl.lit(1))
    h = h.with_columns(
        dibao_eligible=pl.col("db_main") | pl.col("db_exit") | (pl.col("single_members") > 0),
        dibao_amount=money(pl.col("db_main_amount") + exit_amount + pl.col("single_amount")),
        dibao_level=pl.when(pl.col("db_main")).then(pl.lit(method)).when(pl.col("db_exit")).then(pl.lit("gradual_exit"))
        .when(pl.col("single_members") > 0).then(pl.lit("single_person")),
        dibao_persons=pl.when(pl.col("db_main") | pl.col("db_exit")).then(pl.col("n"))
        .otherwise(pl.col("single_members")).cast(pl.Int32),
        dibao_marginal_eligible=pl.col("marginal_test"),
        dibao_marginal_amount=pl.lit(0.0),
        dibao_marginal_level=pl.lit(None, pl.String),
        dibao_marginal_persons=pl.when(pl.col("marginal_test")).then(pl.col("n_counted")).otherwise(0).cast(pl.Int32),
        counted_income_all=money(pl.max_horizontal(pl.col("income_all") - pl.col("rigid_deduction"), pl.lit(0.0))),
    ).with_columns(
        pc_income_all=money(pl.col("counted_income_all") / n),
        annual_pc_income=money(pl.col("counted_income_all") * 12 / n),
    )
    h = dibao_marginal.reasons(dibao.reasons(h, p))
    h = rigid_expense_hardship.household(h, p)
    h = temporary_assistance.household(h, p)
    h = relative_poverty.household(h, p, on)
    care_name = {v: k for k, v in _CARE_RANK.items()}
    rp_method = p.get("relative_poverty.method")
    persons_all = pl.col("n_counted").cast(pl.Int32)
    return h.with_columns(
        extreme_poverty_eligible=pl.col("extreme_poverty_persons") > 0,
        extreme_poverty_level=pl.col("ep_top_rank").replace_strict(care_name, default=None, return_dtype=pl.String),
        rigid_expense_hardship_amount=pl.lit(0.0),
        rigid_expense_hardship_level=pl.lit(None, pl.String),
        rigid_expense_hardship_persons=pl.when(pl.col("rigid_expense_hardship_eligible")).then(persons_all).otherwise(0),
        temporary_assistance_amount=pl.col("ta_amount"),
        temporary_assistance_level=pl.when(pl.col("temporary_assistance_eligible")).then(pl.col("need_kind")),
        temporary_assistance_persons=pl.when(pl.col("temporary_assistance_eligible")).then(persons_all).otherwise(0),
        child_welfare_eligible=pl.col("child_welfare_persons") > 0,
        child_welfare_level=pl.lit(None, pl.String),
        disability_subsidies_eligible=pl.col("disability_subsidies_persons") > 0,
        disability_subsidies_level=pl.lit(None, pl.String),
        relative_poverty_amount=pl.lit(0.0),
        relative_poverty_level=pl.lit(rp_method, pl.String) if rp_method else pl.lit(None, pl.String),
        relative_poverty_persons=pl.when(pl.col("relative_poverty_eligible")).then(persons_all).otherwise(0),
        township=pl.when(pl.col("area_code").str.len_chars() >= 9).then(pl.col("area_code").str.slice(0, 9))
        .otherwise(pl.col("area_code")),
    )


def long_decisions(d: Decisions) -> pl.DataFrame:
    """One row per household and program: eligible, monthly_amount, level, persons, reasons (Int64 mask)."""
    h = d.households
    parts = [
        h.select(
            "household_id", "area_code", "township", "pack_region",
            pl.lit(key).alias("program"),
            pl.col(f"{key}_eligible").fill_null(False).alias("eligible"),
            pl.col(f"{key}_amount").fill_null(0.0).cast(pl.Float64).alias("monthly_amount"),
            pl.col(f"{key}_level").cast(pl.String).alias("level"),
            pl.col(f"{key}_persons").fill_null(0).cast(pl.Int32).alias("persons"),
            pl.col(f"{key}_reasons").fill_null(0).cast(pl.Int64).alias("reasons"),
        )
        for key in PROGRAMS
    ]
    return pl.concat(parts, how="vertical")
