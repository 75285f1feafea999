"""Orchestrate the synthetic county: draw the world (in memory), then write every file with a manifest."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from doudi import __version__
from doudi.policy.params import PackError, load_pack
from doudi.synth import assets as asset_mod
from doudi.synth import attributes, declared, expenses, feeds, income, population, support, writer
from doudi.synth.areas import RegionAreas, build_region_areas
from doudi.synth.params import raw_params, reference_date, region_params

GENERATOR = "doudi.synth"
STREAMS = (
    "households",
    "members",
    "names",
    "ids",
    "health",
    "school",
    "work",
    "status",
    "income",
    "assets",
    "allocate",
    "hardship",
    "declare",
    "medical",
    "expenses",
    "living",
    "hiding",
    "employers",
    "supporter",
    "institution",
    "feeds",
)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate."""

    region: str = "370784"
    households: int = 3000
    seed: int = 20201201
    as_of: date | None = None
    feeds: bool = True
    # Multiplies every under-declaration rate of params.yaml (0: everyone declares truthfully; 2: twice as many
    # hide). The same random draws are made whatever the scale, so the rest of the county does not change.
    under_declaration_scale: float = 1.0

    @property
    def ref(self) -> date:
        """The snapshot date."""
        return self.as_of or reference_date()


@dataclass
class World:
    """The generated county in memory (true and declared)."""

    params: dict[str, Any]
    ref: date
    areas: RegionAreas
    households: pl.DataFrame
    persons: pl.DataFrame
    levels: pl.DataFrame
    income_true: pl.DataFrame
    income_declared: pl.DataFrame
    assets: asset_mod.Assets
    assets_declared: pl.DataFrame
    medical: pl.DataFrame
    expenses_true: pl.DataFrame
    school: pl.DataFrame
    living: pl.DataFrame
    truth_households: pl.DataFrame
    truth_persons: pl.DataFrame
    provident: pl.DataFrame
    feeds: dict[str, pl.DataFrame] = field(default_factory=dict)
    noise: pl.DataFrame | None = None


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per component, so one component's draws never shift another's."""
    return np.random.default_rng([seed, STREAMS.index(name)])


def _region_extras(params: dict[str, Any]) -> dict[str, Any]:
    code = params["code"]
    counties = params.get("counties")
    names = {str(c[0]): c[1] for c in counties} if counties else {code: params["name"]}
    south = code.startswith("44")
    return {
        "county_names": names,
        "county_label": params["name"],
        "cert_prefix": "粤" if south else "鲁",
        "ebike_prefix": params["name"].removesuffix("市"),
        "college": "江门职业技术学院" if south else "潍坊职业学院",
        "university": "五邑大学" if south else "潍坊学院",
    }


def _add_institution(
    params: dict[str, Any], hh: pl.DataFrame, persons: pl.DataFrame, ref: date, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Orphans raised in the county's children's welfare home: one-person collective households."""
    ch = params["children"]
    children = int((persons["birth_date"] > date(ref.year - 18, ref.month, min(ref.day, 28))).sum())
    k = max(int(ch["min_count"]), round(float(ch["per_child_rates"]["orphan_institution"]) * children))
    first = hh.sort("village_code").row(0, named=True)
    start = hh.height
    new_hh = pl.DataFrame(
        [
            {
                **first,
                "hh": start + i,
                "template": "institution",
                "template_idx": -1,
                "size": 1,
                "hukou_type": "urban",
                "institution": True,
                "address": f"{params['name']}儿童福利院",
            }
            for i in range(k)
        ],
        schema=hh.schema,
    )
    age_days = rng.integers(365, 17 * 365, size=k)
    new_p = pl.DataFrame(
        {
            "hh": np.arange(start, start + k, dtype=np.int64),
            "slot": np.zeros(k, dtype=np.int64),
            "slot_code": "H",
            "relation": "head",
            "birth_date": np.datetime64(ref, "D") - age_days.astype("timedelta64[D]"),
            "sex": np.where(rng.random(k) < 0.55, "M", "F"),
        }
    )
    return pl.concat([hh, new_hh]), pl.concat([persons, new_p.with_columns(pl.col("birth_date").cast(pl.Date))])


def income_months(region: str, ref: date) -> int:
    """Months of income a household declares: the region's averaging window (安丘 12, 广东 6), so that the
    ledger covers the period the assessment averages over; params.yaml's value where the pack has none."""
    try:
        return int(load_pack(region).at(ref)["dibao.income.averaging_months"])
    except (PackError, KeyError):
        return int(raw_params()["income_months"])


UNDER_DECLARATION_RATES = ("wage_household_rate", "business_household_rate", "hide_car_rate", "hide_deposit_rate",
                           "hide_extra_property_rate", "hide_business_rate")


def scaled_under_declaration(block: dict[str, Any], scale: float) -> dict[str, Any]:
    """The under-declaration block with every rate multiplied by `scale` (capped at 1)."""
    if scale < 0:
        raise ValueError("under_declaration_scale must not be negative")
    return {k: (min(1.0, float(v) * scale) if k in UNDER_DECLARATION_RATES else v) for k, v in block.items()}


def build_world(cfg: SynthConfig, step: Callable[[str], None] | None = None) -> World:
    """Draw the whole county in memory (no files)."""
    tick = step or (lambda _label: None)
    ref = cfg.ref
    params = region_params(cfg.region)
    params.update(_region_extras(params))
    params["_income_months"] = income_months(cfg.region, ref)
    if cfg.under_declaration_scale != 1.0:
        params["under_declaration"] = scaled_under_declaration(params["under_declaration"],
                                                               cfg.under_declaration_scale)
    s = cfg.seed
    tick("区划与家庭")
    areas = build_region_areas(params)
    hh = population.build_households(params, areas, cfg.households, stream(s, "households"))
    persons = population.explode_members(params, hh, ref, stream(s, "members"))
    persons = persons.with_columns(pl.col("birth_date").cast(pl.Date))
    hh, persons = _add_institution(params, hh, persons, ref, stream(s, "institution"))
    persons = persons.with_row_index("pid").with_columns(pl.col("pid").cast(pl.Int64))
    persons = (
        persons.with_columns(age=population.age_at("birth_date", ref))
        .join(hh.select("hh", "hukou_type"), on="hh", how="left", maintain_order="left")
        .sort("pid")
    )
    hh = hh.with_columns(
        # 户编号: the township's 9-digit code and a 6-digit number within it, 15 digits like the console's
        household_no=pl.col("township_code")
        + (pl.int_range(pl.len()).over("township_code", order_by="hh") + 1).cast(pl.Utf8).str.zfill(6),
        police_no=pl.Series(stream(s, "ids").permutation(hh.height) + 100_000_000).cast(pl.Utf8),
    )
    tick("姓名与身份证号")
    persons = population.add_identity(persons, hh, stream(s, "names"), stream(s, "ids"))
    tick("健康、就学与就业")
    persons = attributes.add_health(params, persons, ref, stream(s, "health"))
    persons = attributes.add_schooling(params, persons, stream(s, "school"))
    persons = attributes.add_work(params, persons, stream(s, "work"))
    persons = attributes.add_status(params, persons, ref, stream(s, "status"))
    inst = hh["institution"].to_numpy()[persons["hh"].to_numpy()]
    persons = persons.with_columns(
        child_status=pl.when(pl.Series(inst)).then(pl.lit("orphan_institution")).otherwise(pl.col("child_status"))
    )
    persons = income.counted_flags(persons)
    tick("收入与财产")
    levels = income.household_levels(params, hh, persons, stream(s, "income"), ref)
    held = asset_mod.build_assets(params, hh, levels, persons, ref, stream(s, "assets"))
    persons, income_true = income.allocate(params, levels, persons, held.rental, ref, stream(s, "allocate"))
    persons = attributes.mark_hardship_children(params, persons, levels["tail"].to_numpy(), stream(s, "hardship"))
    income_decl, under = income.declare(params, income_true, levels, persons, stream(s, "declare"))
    persons = persons.with_columns(employer=asset_mod.employers(params, persons, hh, stream(s, "employers")))
    tick("支出与生活状况")
    medical = expenses.medical_settlements(params, persons, ref, stream(s, "medical"))
    rigid = expenses.rigid_expenses(params, persons, medical, stream(s, "expenses"))
    school = expenses.school_records(params, persons, hh, ref, stream(s, "school"))
    living = expenses.living_conditions(params, hh, levels, held, stream(s, "living"))
    hiding = declared.hiding_flags(params, held, levels, stream(s, "hiding"))
    w_feeds = feeds.World(params, ref, hh, persons, income_true, held, medical, school)
    provident = feeds.provident_fund(w_feeds, stream(s, "feeds")).group_by("pid", maintain_order=True).last()
    provident = provident.join(persons.select("pid", "hh"), on="pid", maintain_order="left")
    assets_decl = declared.declared_assets(held, hiding, provident, ref)
    flags = under.join(hiding, on="hh", maintain_order="left")
    hh, persons = support.add_support_status(params, hh, persons, levels["tail"].to_numpy(), stream(s, "supporter"))
    months = params["_income_months"]
    truth_hh, truth_p = declared.ground_truth(
        params, hh, persons, levels, income_true, income_decl, held, assets_decl, rigid, flags, months
    )
    return World(
        params,
        ref,
        areas,
        hh,
        persons,
        levels,
        income_true,
        income_decl,
        held,
        assets_decl,
        medical,
        rigid,
        school,
        living,
        truth_hh,
        truth_p,
        provident,
    )


def build_feeds(
    world: World,
    seed: int,
    step: Callable[[str], None] | None = None,
    sink: Callable[[str, pl.DataFrame], None] | None = None,
) -> None:
    """Draw every agency feed with its noise; each goes to `sink` (then dropped) or into world.feeds."""
    tick = step or (lambda _label: None)
    w = feeds.World(
        world.params,
        world.ref,
        world.households,
        world.persons,
        world.income_true,
        world.assets,
        world.medical,
        world.school,
    )
    stale = world.households["address"].unique().sort()
    manifests = []
    for i, (source, builder) in enumerate(feeds.BUILDERS.items()):
        tick(f"部门数据：{source}")
        rng = np.random.default_rng([seed, len(STREAMS) + i])
        frame, manifest = feeds.finish(source, w, builder(w, rng), rng, stale)
        if sink is None:
            world.feeds[source] = frame
        else:
            sink(source, frame)  # written straight away so a million-household run keeps memory flat
        manifests.append(manifest)
    world.noise = pl.concat(manifests).sort("source", "row_number", "noise_kind")


def sha256_of(path: Path) -> str:
    """Hex digest of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _console_progress(console: Console | None) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


def generate(
    cfg: SynthConfig, out: Path, *, console: Console | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Generate the county and write every file under `out`; returns the manifest."""
    started = time.perf_counter()
    steps = 5 + (len(feeds.BUILDERS) if cfg.feeds else 0) + 2
    progress = _console_progress(console)
    task = progress.add_task(f"合成 {cfg.households:,} 户", total=steps)

    def tick(label: str) -> None:
        progress.update(task, description=label, advance=1)

    with progress if show_progress else _Null():
        world = build_world(cfg, tick)
        counts = writer.write_base(world, out, cfg)
        if cfg.feeds:

            def sink(source: str, frame: pl.DataFrame) -> None:
                counts[f"feeds/{source}.csv"] = writer.write_csv(frame, out / "feeds" / f"{source}.csv")

            build_feeds(world, cfg.seed, tick, sink)
            assert world.noise is not None
            counts["feeds/noise.csv"] = writer.write_csv(world.noise, out / "feeds" / "noise.csv")
        tick("写出文件")
        del world
        tick("完成")
    files = {
        p.relative_to(out).as_posix(): sha256_of(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    manifest = {
        "generator": GENERATOR,
        "generator_version": __version__,
        "params_version": raw_params()["version"],
        "region": cfg.region,
        "seed": cfg.seed,
        "households_requested": cfg.households,
        "reference_date": cfg.ref.isoformat(),
        "income_months": income_months(cfg.region, cfg.ref),
        "households": counts["ground_truth.parquet"],
        "persons": counts["households.csv"],
        "counts": counts,
        "files": files,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
