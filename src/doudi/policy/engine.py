"""Runs every declared program on a batch of households and returns one decision frame per household
plus one per member.

Households are partitioned by the policy pack that governs them (a handful of regions), and each
partition runs the same vectorised Polars functions with that pack's values; a single case is just a
one-household batch, so the online and the overnight results cannot differ.

The pipeline is fixed; the programs fill it (:class:`~doudi.policy.protocol.Program`):

    shared member and household columns (prepare) → members: persons, choices
    → member → household sums → households: unit → household columns back to members
    → members: members, settle → member → household sums → households: household

Within a stage, programs run in their declared order. The mutual exclusions live with the rule that
makes them: a 特困 person leaves the 低保 unit (dibao's unit sums), the Art. 9 choice between 特困 and the
orphan / de-facto allowance (extreme_poverty and child_welfare choices), the 补差 of de-facto children
(child_welfare settle), 刚性支出 only for households on none of 低保 / 边缘 / 特困.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from typing import Any

import numpy as np
import polars as pl

from doudi.areas.codes import county_of
from doudi.policy import prepare
from doudi.policy.frames import Frames, conform, incomplete_error, incomplete_households
from doudi.policy.params import MissingParameter, Pack, PackError, Resolved, load_pack
from doudi.policy.programs import all_programs
from doudi.policy.protocol import (
    HOUSEHOLD_OUTPUTS,
    SPARSE_FROM,
    Direct,
    Program,
    SparseMask,
    Within,
    missing_parameters,
    money,
)
from doudi.policy.segments import Segments
from doudi.policy.spec import param_sets

MEMBER_STAGES = ("persons", "choices", "members", "settle")


@dataclass
class Decisions:
    """Per-household and per-member decision frames, and the packs that applied (by region)."""

    households: pl.DataFrame
    members: pl.DataFrame
    packs: dict[str, Pack]
    params: dict[str, Resolved]
    on: date
    # Households set aside (household_id, area_code, reason): no complete pack, or a value every rule reads missing.
    skipped: pl.DataFrame | None = None


def resolve(area_codes: Sequence[str | None], on: date, overrides: Mapping[str, Any] | None = None,
            problems: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, Pack], dict[str, Resolved]]:
    """county code → pack region, and each region's pack and values on `on` (checked complete).

    An incomplete region raises PackError, or is left out and described in `problems` when that is given. A
    missing code is passed over (its household is set aside by :func:`evaluate_frames`; a Spark driver lists
    the counties of a whole snapshot, null included).
    """
    county_region: dict[str, str] = {}
    packs: dict[str, Pack] = {}
    for county in sorted({county_of(c) for c in area_codes if c is not None}):
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
        missing = _missing(values, tuple(prog.key for prog in all_programs()))
        if missing:
            message = f"{pack.name}（{region}）在 {on} 缺少参数：{', '.join(missing)}；请补充该地区的政策参数包"
            if problems is None:
                raise PackError(message)
            problems[region] = message
            continue
        resolved[region] = values
    return county_region, packs, resolved


@lru_cache(maxsize=256)
def _missing(values: Resolved, programs: tuple[str, ...]) -> list[str]:
    """:func:`missing_parameters` of every parameter set, once per pack values (a Resolved is hashed by region,
    date and pack version, and compared by its values: an override is checked anew) and declared programs (a
    single case checked the whole pack on every call)."""
    del programs  # part of the cache key: param_sets() reads the declared programs
    return missing_parameters(param_sets(), values)


def evaluate_frames(frames: Frames, on: date, *, overrides: Mapping[str, Any] | None = None,
                    skip_unconfigured: bool = False, decisions_only: bool = False,
                    also: Sequence[str] = ()) -> Decisions:
    """Evaluate every program for every household in the frames on date `on`.

    With `skip_unconfigured`, households of regions without a complete pack, and households no rule can decide
    (no area code, a member without relation or birth date: a warehouse export may hold them) are set aside in
    `Decisions.skipped` (with the reason) instead of failing the whole batch. Without it, the latter are a
    ValidationFailed naming them.

    With `decisions_only` (a batch that stores or writes its decisions), the frames keep only the columns of
    the stored decisions (:func:`decision_columns`) and the household columns named in `also`, not the rules'
    working columns an explanation reads.
    """
    frames = conform(frames)
    hh, mem = frames.households, frames.members
    incomplete = incomplete_households(hh, mem)
    if incomplete is not None:
        if not skip_unconfigured:
            raise incomplete_error(incomplete)
        hh = hh.join(incomplete, on="household_id", how="anti")
        mem = mem.join(incomplete, on="household_id", how="anti")
    problems: dict[str, str] | None = {} if skip_unconfigured else None
    county_region, packs, resolved = resolve(hh["area_code"].unique().to_list(), on, overrides, problems)
    if len(county_region) == 1:  # one county (a single case): its region as a constant, no lookup table
        hh = hh.with_columns(pack_region=pl.lit(next(iter(county_region.values())), pl.String))
    else:
        hh = hh.with_columns(pack_region=pl.col("area_code").str.slice(0, 6).replace_strict(
            county_region, return_dtype=pl.String))
    skipped = None
    if problems:
        bad = pl.col("pack_region").is_in(list(problems))
        skipped = hh.filter(bad).select("household_id", "area_code",
                                        reason=pl.col("pack_region").replace_strict(problems, return_dtype=pl.String))
        hh = hh.filter(~bad)
        mem = mem.join(hh.select("household_id"), on="household_id", how="semi")
    if incomplete is not None:
        unusable = frames.households.join(incomplete, on="household_id").select("household_id", "area_code", "reason")
        skipped = unusable if skipped is None else pl.concat([skipped, unusable])
    regions = list(resolved)
    if not regions:
        return Decisions(households=pl.DataFrame(), members=pl.DataFrame(), packs={}, params={}, on=on,
                         skipped=skipped)
    keep = decision_columns(also) if decisions_only else None
    outs = _evaluate_sliced(hh, mem, county_region, resolved, on, keep) if keep else [
        run_partition(h, m, resolved[r], on) for r, h, m in _parts(hh, mem, county_region, regions)]
    h_parts, m_parts = [h for h, _ in outs], [m for _, m in outs]
    # Without rechunking: the partitions stay separate chunks instead of being copied into one.
    households = pl.concat(h_parts, how="diagonal_relaxed", rechunk=False) if h_parts else pl.DataFrame()
    members = pl.concat(m_parts, how="diagonal_relaxed", rechunk=False) if m_parts else pl.DataFrame()
    return Decisions(households=households, members=members, packs={r: packs[r] for r in resolved},
                     params=resolved, on=on, skipped=skipped)


Parts = list[tuple[str, pl.DataFrame, pl.DataFrame]]  # (pack region, households, their members), both sorted
# A county-major batch is evaluated county by county up to this many counties (each part costs a pass of
# every rule step); above, it is split by region as an interleaved batch is.
MAX_COUNTY_RUNS = 64


def decision_columns(also: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The household and member columns the stored decisions are made of (:func:`long_decisions`,
    ``batch.member_rows``, the counted persons), and the household columns `also`."""
    households = ["household_id", "area_code", "township", "pack_region", *also]
    members = ["household_id", "member_idx", "person_id", "counted"]
    for prog in all_programs():
        households += [f"{prog.key}_{o}" for o in HOUSEHOLD_OUTPUTS]
        out = prog.member_output
        if out is None:
            continue
        if out.reasons:
            households.append(f"{prog.key}_member_reasons")
        exprs = [out.level(), *([out.care_hours()] if out.care_hours else [])]
        members += [out.eligible, out.amount, *(r for e in exprs for r in e.meta.root_names())]
    return list(dict.fromkeys(households)), list(dict.fromkeys(members))


# A batch that keeps only its decisions is evaluated in slices of at most this many households.
SLICE = 200_000


def _parts(hh: pl.DataFrame, mem: pl.DataFrame, county_region: Mapping[str, str], regions: list[str]) -> Parts:
    """The batch cut by pack: county by county when laid out so, else one part per region."""
    parts = _county_parts(hh, mem, county_region, regions)
    return parts if parts is not None else _region_parts(hh, mem, regions)


def _county_parts(hh: pl.DataFrame, mem: pl.DataFrame, county_region: Mapping[str, str], regions: list[str]
                  ) -> Parts | None:
    """:func:`_county_runs` where it can help (one region in id order is one part already)."""
    if len(county_region) > 1 and (len(regions) > 1 or not hh["household_id"].is_sorted()):
        return _county_runs(hh, mem, county_region)
    return None


def _evaluate_sliced(hh: pl.DataFrame, mem: pl.DataFrame, county_region: Mapping[str, str],
                     resolved: Mapping[str, Resolved], on: date, keep: tuple[list[str], list[str]]
                     ) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """The decision columns of each part by pack, in slices of at most SLICE households, two slices at a time.

    A slice's working columns are freed as soon as its decisions are taken from them, so the next slice
    reuses their memory instead of touching fresh pages (first touches were a third of a 1M-household run,
    and parallel first touches contend in the kernel). Households are independent: the decisions are those
    of the whole batch at once.
    """
    jobs = _slice_jobs(hh, mem, county_region, list(resolved))

    def run(job: Job) -> tuple[pl.DataFrame, pl.DataFrame]:
        region, h, m = job()
        h_out, m_out = run_partition(h, m, resolved[region], on)
        return h_out.select(keep[0]), m_out.select(keep[1])

    if len(jobs) < 2:
        return [run(job) for job in jobs]
    # Polars and numpy release the GIL: a second slice keeps the second core busy through the short steps
    # (one slice alone used 1.3 of the 2 cores).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="doudi-slice") as pool:
        return list(pool.map(run, jobs))


def _slice_jobs(hh: pl.DataFrame, mem: pl.DataFrame, county_region: Mapping[str, str], regions: list[str]
                ) -> list[Job]:
    """Each slice as a function giving its pack region and frames: zero-copy slices of a county-major or
    one-region batch; rows gathered by the slice's own thread when regions are interleaved (each gather is
    then a slice's size, freed with it, and the two threads gather side by side)."""
    parts = _county_parts(hh, mem, county_region, regions)
    if parts is None and len(regions) == 1:
        parts = _region_parts(hh, mem, regions)
    if parts is not None:
        return [partial(_given, part) for part in _slices(parts)]
    hh, mem = _sorted(hh, mem)
    ids, member_ids = hh["household_id"].to_numpy(), mem["household_id"].to_numpy()
    jobs: list[Job] = []
    for region, h_rows, m_rows in _region_rows(hh, mem, regions):
        for h_cut, m_cut in _cuts(ids[h_rows], member_ids[m_rows]):
            jobs.append(partial(_gather, region, hh, mem, h_rows[h_cut], m_rows[m_cut]))
    return jobs


Job = Callable[[], tuple[str, pl.DataFrame, pl.DataFrame]]  # a slice's pack region and frames, when called


def _given(part: tuple[str, pl.DataFrame, pl.DataFrame]) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    return part


def _gather(region: str, hh: pl.DataFrame, mem: pl.DataFrame, h_rows: np.ndarray, m_rows: np.ndarray
            ) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    return region, _take(hh, h_rows), _take(mem, m_rows)


def _slices(parts: Parts) -> Parts:
    """The parts cut into runs of at most SLICE households with their members (zero-copy slices: both frames
    are sorted by household)."""
    out: Parts = []
    for region, hh, mem in parts:
        if hh.height <= SLICE:
            out.append((region, hh, mem))
            continue
        for h_cut, m_cut in _cuts(hh["household_id"].to_numpy(), mem["household_id"].to_numpy()):
            out.append((region, hh[h_cut], mem[m_cut]))
    return out


def _cuts(ids: np.ndarray, owners: np.ndarray) -> list[tuple[slice, slice]]:
    """Runs of at most SLICE households (sorted ids) and the run of members (their sorted household ids) of each.
    Members past the last household stay with the last run, as they would with the whole part."""
    cuts, m0 = [], 0
    for a in range(0, len(ids), SLICE):
        b = min(a + SLICE, len(ids))
        m1 = len(owners) if b == len(ids) else int(np.searchsorted(owners, ids[b - 1], side="right"))
        cuts.append((slice(a, b), slice(m0, m1)))
        m0 = m1
    return cuts


def _sorted(hh: pl.DataFrame, mem: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both frames in household order (sorted when they are not); a repeated household id is an error."""
    # The segment arithmetic needs both frames in household order (snapshots usually already are).
    if not hh["household_id"].is_sorted():
        hh = hh.sort("household_id")
    if not mem["household_id"].is_sorted():
        mem = mem.sort("household_id", "member_idx")
    ids = hh["household_id"]
    if hh.height > 1 and (ids.null_count() > 1 or (ids.drop_nulls().diff() == 0).any()):
        raise ValueError("household_id 重复")
    return hh, mem


def _region_parts(hh: pl.DataFrame, mem: pl.DataFrame, regions: list[str]) -> Parts:
    """One part per pack region, both frames sorted by household (sorted first when they are not)."""
    hh, mem = _sorted(hh, mem)
    if len(regions) == 1:
        return [(regions[0], hh, mem)]
    return [(r, _take(hh, h), _take(mem, m)) for r, h, m in _region_rows(hh, mem, regions)]


def _region_rows(hh: pl.DataFrame, mem: pl.DataFrame, regions: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The household rows and member rows of each pack region, in order (both frames sorted by household)."""
    # Each member follows its household's pack. Rows are picked by a small region number (no hash
    # partitioning of strings), in their order, so every part stays sorted by household.
    seg = Segments.of(hh["household_id"], mem["household_id"])
    code = hh["pack_region"].replace_strict({r: i for i, r in enumerate(regions)}, default=len(regions),
                                            return_dtype=pl.UInt16).to_numpy()
    member_code = code[seg.member_rows.to_numpy()]
    return [(r, np.flatnonzero(code == i), np.flatnonzero(member_code == i)) for i, r in enumerate(regions)]


def _county_runs(hh: pl.DataFrame, mem: pl.DataFrame, county_region: Mapping[str, str]) -> Parts | None:
    """Zero-copy parts of a county-major batch (as a snapshot partitioned by county is laid out): each county's
    households one run, sorted by id, and its members the next run of member rows in the same order. None when
    the frames are not laid out so; they are then split by region, which copies every column (a fifth of a
    1M-household assessment).
    """
    if hh["household_id"].null_count() or mem["household_id"].null_count():
        return None
    county = hh["area_code"].str.slice(0, 6)
    starts = np.flatnonzero((county != county.shift(1)).fill_null(True).to_numpy())
    if len(starts) > MAX_COUNTY_RUNS or len(starts) != county.n_unique():
        return None
    ids, member_ids = hh["household_id"].to_numpy(), mem["household_id"].to_numpy()
    # Where member household ids fall: a run of members ends at the latest where the order restarts.
    restarts = np.append(np.flatnonzero(member_ids[1:] < member_ids[:-1]) + 1, len(member_ids))
    parts: Parts = []
    m0 = 0
    for a, b in zip(starts, [*starts[1:], len(ids)], strict=True):
        own = ids[a:b]
        if len(own) > 1 and not (own[1:] > own[:-1]).all():
            return None
        stop = int(restarts[min(int(np.searchsorted(restarts, m0, side="right")), len(restarts) - 1)])
        m1 = m0 + int(np.searchsorted(member_ids[m0:stop], own[-1], side="right"))
        block = member_ids[m0:m1]
        at = np.minimum(np.searchsorted(own, block), len(own) - 1)
        if not (own[at] == block).all():
            return None
        parts.append((county_region[str(county[int(a)])], hh.slice(int(a), int(b - a)), mem.slice(m0, m1 - m0)))
        m0 = m1
    if m0 != len(member_ids):
        return None
    if hh["household_id"].n_unique() != hh.height:
        raise ValueError("household_id 重复")
    return parts


def _take(df: pl.DataFrame, at: np.ndarray) -> pl.DataFrame:
    """The rows `at` (ascending), in order: a zero-copy slice when they are one run (a snapshot sorted by
    county), gathered by row number otherwise (a boolean filter costs less CPU but, run in parallel over the
    columns, raised the peak of a 1M-household batch by half a GiB)."""
    if at.size and at[-1] - at[0] + 1 == at.size:
        return df.slice(int(at[0]), int(at.size))
    return df[at]


class _Recorder:
    """Stands in for a frame to record a rule function's column steps (expressions are immutable)."""

    def __init__(self) -> None:
        self.steps: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def with_columns(self, *args: Any, **kwargs: Any) -> _Recorder:
        self.steps.append((args, kwargs))
        return self


_PLANS: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
# Below this many rows (a small batch, as for sparse masks) the recorded steps of a rule run go to Polars as
# one query (see _run_all).
CHAIN_BELOW = SPARSE_FROM
# The optimisation flags of Polars' own eager DataFrame methods (no optimiser passes besides simplification).
_EAGER = pl.QueryOptFlags._eager()


def _run(fn: Callable[..., Any], df: pl.DataFrame, p: Resolved, *args: Any) -> pl.DataFrame:
    """Apply a rule function's column steps, building its expressions once per pack values and date."""
    return _run_all([(fn, args)], df, p)


def _run_all(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], df: pl.DataFrame, p: Resolved
             ) -> pl.DataFrame:
    """Apply the column steps of several rule functions in turn, building their expressions once per pack
    values and date and fusing independent steps (of different programs too) into fewer passes.

    Building Polars expressions costs more than evaluating them on one household, so a single-case
    evaluation reuses the steps recorded the first time; the batch and the single case run the same steps.
    """
    key = (tuple((fn.__module__, fn.__qualname__) for fn, _ in calls), p.region, p.on, p.version)
    steps = _PLANS.get(key)
    if steps is None:
        recorder = _Recorder()
        for fn, args in calls:
            fn(recorder, *args)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        steps = _PLANS[key] = _merge(recorder.steps)
    if df.height < CHAIN_BELOW:
        # A few households (a single case): planning costs far more than the work, so the steps run as one
        # query, each still its own with_columns in order (the same values), evaluated without thread hand-offs
        # and planned the way an eager call is (about a quarter less CPU than a query per step).
        lf = df.lazy()
        for step_args, step_kwargs in steps:
            lf = lf.with_columns_seq(*step_args, **step_kwargs)
        return lf.collect(optimizations=_EAGER)
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


# ------------------------------------------------------------------------------------------ the pipeline
_SHARED_TO_MEMBERS = {"urban": "urban", "std": "std", "prop_ok": "prop_ok", "hh_capable_elsewhere":
                      "has_capable_supporter", "hh_receiving_dibao": "receiving_dibao"}


def _declared(qs: Mapping[str, Any]) -> tuple[dict[str, tuple[pl.Expr, str]], dict[str, str],
                                               dict[str, tuple[pl.Expr, str]]]:
    """The programs' unit sums, household columns for members, and person sums (plus member reason masks)."""
    counted = pl.col("counted")
    unit: dict[str, tuple[pl.Expr, str]] = {
        "income_all": (pl.when(counted).then(pl.col("income_counted")).otherwise(0.0), "sum"),
        # 家庭总收入 before the employment-cost deduction (刚性支出 share; the Jiangmen indicator reads it too).
        "income_gross_all": (pl.when(counted).then(pl.col("income_gross")).otherwise(0.0), "sum"),
    }
    to_members: dict[str, str] = {}
    persons: dict[str, tuple[pl.Expr, str]] = {}
    for prog in all_programs():
        unit.update(prog.unit_sums(qs[prog.key]) if prog.unit_sums else {})
        to_members.update(prog.to_members)
        persons.update(prog.person_sums(qs[prog.key]) if prog.person_sums else {})
        out = prog.member_output
        if out is not None and out.reasons:
            persons[f"{prog.key}_member_reasons"] = (pl.col(out.reasons), "or")
    return unit, to_members, persons


_DECLARED: dict[tuple[Any, ...], Any] = {}


def _declared_for(p: Resolved, qs: Mapping[str, Any]) -> tuple[dict[str, tuple[pl.Expr, str]], dict[str, str],
                                                              dict[str, tuple[pl.Expr, str]]]:
    """:func:`_declared`, built once per pack version and date (a single case would rebuild it every call)."""
    key = (p.region, p.on, p.version, tuple(prog.key for prog in all_programs()))
    hit = _DECLARED.get(key)
    if hit is None:
        if len(_DECLARED) > 4096:
            _DECLARED.clear()
        hit = _DECLARED[key] = _declared(qs)
    return hit


def _params(p: Resolved) -> dict[str, Any]:
    return {prog.key: prog.params.read(p) for prog in all_programs()}


def _stage(stage: str, df: pl.DataFrame, p: Resolved, qs: Mapping[str, Any], on: date, seg: Segments) -> pl.DataFrame:
    """Run one stage of every program that has it, in program order (consecutive rule functions as one plan)."""
    pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    for prog in all_programs():
        steps = prog.stages.get(stage)
        if steps is None:
            continue
        for step in steps if isinstance(steps, Sequence) else (steps,):
            if isinstance(step, SparseMask) and df.height < CHAIN_BELOW:
                step = step.recorded  # a few rows: recorded with the other steps
            if not isinstance(step, Direct | Within | SparseMask):
                pending.append((step, (qs[prog.key], on)))
                continue
            if pending:
                df, pending = _run_all(pending, df, p), []
            if isinstance(step, SparseMask):
                df = step.apply(df, qs[prog.key])
            elif isinstance(step, Direct):
                df = step.fn(df, qs[prog.key], on, seg)
            else:
                if stage not in MEMBER_STAGES:
                    raise TypeError(f"{prog.key}: Within is a member-stage step, not for {stage}")
                totals = seg.aggregate(df, step.sums(qs[prog.key]))
                df = df.with_columns([v.gather(seg.member_rows).alias(k) for k, v in totals.items()])
    return _run_all(pending, df, p) if pending else df


def run_partition(hh: pl.DataFrame, mem: pl.DataFrame, p: Resolved, on: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All programs for households governed by one pack (both frames sorted by household_id)."""
    # One chunk per column: a column computed here (a gather, a household sum) comes as one chunk, and a frame
    # whose columns are chunked differently is copied into line by every query that reads it (a snapshot's
    # row groups are chunks: 2.7M members took 45 ms per query instead of 1).
    hh, mem = hh.rechunk(), mem.rechunk()
    seg = Segments.of(hh["household_id"], mem["household_id"])
    shared = prepare.SharedParams.read(p)
    qs = _params(p)
    unit_sums, to_members, person_sums = _declared_for(p, qs)
    m = _run(prepare.members, mem, p, shared, on)
    h = _run(prepare.households, hh.with_columns(**seg.aggregate(m, {"n_counted": (pl.col("counted"), "sum")})),
             p, shared, on)
    m = m.with_columns(seg.broadcast(h, _SHARED_TO_MEMBERS))
    m = _stage("choices", _stage("persons", m, p, qs, on, seg), p, qs, on, seg)
    h = _stage("unit", h.with_columns(**seg.aggregate(m, unit_sums)), p, qs, on, seg)
    m = m.with_columns(seg.broadcast(h, to_members))
    m = _stage("settle", _stage("members", m, p, qs, on, seg), p, qs, on, seg)
    h = _run(_summary, h.with_columns(**seg.aggregate(m, person_sums)), p, shared, on)
    h = _stage("household", h, p, qs, on, seg)
    missing = [f"{prog.key}_{o}" for prog in all_programs() for o in HOUSEHOLD_OUTPUTS
               if f"{prog.key}_{o}" not in h.columns]
    if missing:
        raise MissingParameter(f"规则模块缺少输出列：{', '.join(missing)}")
    return h, m


def _summary(h: pl.DataFrame, q: prepare.SharedParams, on: date) -> pl.DataFrame:
    """Household income figures several programs share (after the 低保 unit's rigid-expense deduction)."""
    del q, on
    n = pl.max_horizontal(pl.col("n_counted"), pl.lit(1))
    return h.with_columns(
        counted_income_all=money(pl.max_horizontal(pl.col("income_all") - pl.col("rigid_deduction"), pl.lit(0.0))),
        township=pl.col("area_code").str.slice(0, 9),  # a county-level code stays whole
    ).with_columns(
        pc_income_all=money(pl.col("counted_income_all") / n),
        annual_pc_income=money(pl.col("counted_income_all") * 12 / n),
    )


def reasons_column(prog: Program) -> pl.Expr:
    """A program's stored reason mask: its household reasons and every member's."""
    own = pl.col(f"{prog.key}_reasons").fill_null(0).cast(pl.Int64)
    if prog.member_output is not None and prog.member_output.reasons:
        return own | pl.col(f"{prog.key}_member_reasons").fill_null(0).cast(pl.Int64)
    return own


def long_decisions(d: Decisions) -> pl.DataFrame:
    """One row per household and program: eligible, monthly_amount, level, persons, reasons (Int64 mask)."""
    h = d.households
    parts = [
        h.select(
            "household_id", "area_code", "township", "pack_region",
            pl.lit(prog.key).alias("program"),
            pl.col(f"{prog.key}_eligible").fill_null(False).alias("eligible"),
            pl.col(f"{prog.key}_amount").fill_null(0.0).cast(pl.Float64).alias("monthly_amount"),
            pl.col(f"{prog.key}_level").cast(pl.String).alias("level"),
            pl.col(f"{prog.key}_persons").fill_null(0).cast(pl.Int32).alias("persons"),
            reasons_column(prog).alias("reasons"),
        )
        for prog in all_programs()
    ]
    return pl.concat(parts, how="vertical")
