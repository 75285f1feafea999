"""The targeting-accuracy study shared by bench/bench_targeting.py and the small-county guard test.

A synthetic county is drawn (`doudi.synth`) and loaded through the real paths into a *programme* database:
areas, the registry import, the declared facts, every agency feed ingested and linked. Decisions are taken at
three information levels, with the same packs and the same engine:

- ``declared``: the registry's declared facts only (`read_registry(sources=["declared"])`);
- ``verified``: after every household's linked feed rows became facts (`targeting.flows.verify_county`);
- ``monitoring``: after the reviews the monitoring rules propose for the verified recipients are done (the deaths
  the feeds report recorded in the registry), then re-assessed.

The truth is loaded the same way into a *truth* database (`synth.truth` files): decisions on true facts
(``truth``), and on the best facts any verification could reach (``floor``: income no feed reports stays as
declared). Each level is scored against the truth with `targeting.rules.error_rates`, keyed by household number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from doudi.areas.service import parse_division_file, upsert_areas
from doudi.auth.permissions import Actor, system_actor
from doudi.bootstrap import init_database
from doudi.db.engine import make_engine, session_scope
from doudi.db.frames import read_frame
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.monitoring.read import read_inputs
from doudi.monitoring.rules.base import ENROLLMENT_SCHEMA, RECIPIENT_PROGRAMS
from doudi.monitoring.run import evaluate, group_hits, rule_specs
from doudi.policy.engine import evaluate_frames, long_decisions
from doudi.policy.params import load_pack
from doudi.policy.registry_frames import read_registry
from doudi.registry.facts_import import import_facts
from doudi.registry.importer import import_households
from doudi.registry.models import Household
from doudi.synth import writer
from doudi.synth.generate import SynthConfig, build_feeds, build_world
from doudi.synth.truth import write_truth
from doudi.targeting import flows, rules

LEVELS = ("declared", "verified", "monitoring")
FACT_FILES = (("income", "income.parquet"), ("assets", "assets.parquet"), ("expenses", "expenses.parquet"),
              ("living", "living.parquet"))
TRUTH_FILES = (("income", "truth/income.parquet"), ("assets", "truth/assets.parquet"),
               ("expenses", "expenses.parquet"), ("living", "living.parquet"))


@dataclass
class Study:
    """Decisions per level (key = household_no, program, eligible, monthly_amount) and their error rates."""

    region: str
    households: int
    scale: float
    on: date
    decisions: dict[str, pl.DataFrame] = field(default_factory=dict)  # LEVELS + truth + floor
    errors: pl.DataFrame = field(default_factory=pl.DataFrame)  # level, program, counts, inclusion/exclusion error
    visibility: pl.DataFrame = field(default_factory=pl.DataFrame)
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def draw(region: str, households: int, seed: int, scale: float, out: Path) -> date:
    """Write the county (registry, declared facts, feeds) and its truth files; returns the assessment date (the
    day after the snapshot, so the income window is the months the county declared)."""
    cfg = SynthConfig(region=region, households=households, seed=seed, under_declaration_scale=scale)
    world = build_world(cfg)
    writer.write_base(world, out, cfg)

    def sink(source: str, frame: pl.DataFrame) -> None:
        writer.write_csv(frame, out / "feeds" / f"{source}.csv")

    build_feeds(world, cfg.seed, sink=sink)
    write_truth(world, cfg.seed, out)
    return world.ref + timedelta(days=1)


def _load_registry(session: Session, actor: Actor, out: Path, households: str,
                   files: tuple[tuple[str, str], ...], *, strict: bool = True) -> int:
    """Load areas, the registry file and fact files; returns the fact rows quarantined (`strict`: none allowed;
    the truth's registry has no members who moved away, so their expenses are quarantined there)."""
    upsert_areas(session, rows=parse_division_file(out / "areas.csv"))
    session.flush()
    result = import_households(session, actor=actor, path=out / households)
    if result.rows_rejected:
        raise RuntimeError(f"{households}: {result.rows_rejected} 行未通过校验：{result.rejects.head(5)}")
    rejected = 0
    for kind, name in files:
        facts = import_facts(session, actor=actor, kind=kind, path=out / name)
        if facts.rows_rejected and strict:
            raise RuntimeError(f"{name}: {facts.rows_rejected} 行未通过校验：{facts.rejects.head(5)}")
        rejected += facts.rows_rejected
    return rejected


def _decide(session: Session, on: date, sources: list[str] | None = None) -> pl.DataFrame:
    frames = read_registry(session.connection(), on=on, sources=sources)
    long = long_decisions(evaluate_frames(frames, on))
    numbers = read_frame(session, select(Household.id, Household.household_no),
                         schema={"household_id": pl.Int64(), "key": pl.String()})
    return long.join(numbers, on="household_id").select("key", "household_id", "program", "eligible",
                                                        "monthly_amount")


def _monitoring(session: Session, actor: Actor, region: str, on: date, verified: pl.DataFrame) -> dict[str, int]:
    """Run the monitoring rules over the verified recipients and every feed batch; do the reviews they propose."""
    batches = list(session.scalars(select(IngestBatch).where(IngestBatch.kind == "feed",
                                                             IngestBatch.status == BatchStatus.DONE)))
    inp = read_inputs(session, on=on, area="", batches=batches, with_assessment=False)
    granted = verified.filter(pl.col("eligible") & pl.col("program").is_in(RECIPIENT_PROGRAMS))
    area = read_frame(session, select(Household.id, Household.area_code),
                      schema={"household_id": pl.Int64(), "area_code": pl.String()})
    inp.enrollments = granted.join(area, on="household_id").select(
        enrollment_id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), household_id="household_id",
        person_id=pl.lit(None, pl.Int64), area_code="area_code", program="program", status=pl.lit("active"),
        start_month=pl.lit(on.replace(day=1)), monthly_amount="monthly_amount",
        next_review_on=pl.lit(on + timedelta(days=365)), gradual_exit_until=pl.lit(None, pl.Date),
    ).cast(dict(ENROLLMENT_SCHEMA))  # type: ignore[arg-type]
    specs = rule_specs(region, on)
    grouped = group_hits(evaluate(inp.conformed(), specs, load_pack(region).at(on), on))
    reviewed = flows.reviewed_households(grouped, {k: s.dispositions for k, s in specs.items()})
    deaths = flows.record_reported_deaths(session, actor=actor, grouped=grouped)
    return {"warnings": grouped.height, "reviewed_households": reviewed["household_id"].n_unique(),
            "deaths_recorded": deaths}


def run_study(region: str, households: int, seed: int, scale: float, work: Path, *,
              program_engine: Engine | None = None) -> Study:
    """Draw, load and decide at every level; score each against the truth. `program_engine`: the database under
    test (a fresh SQLite file under `work` by default); the truth always goes to its own SQLite file."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    out = work / "county"
    on = draw(region, households, seed, scale, out)
    seconds["draw"] = time.perf_counter() - t
    study = Study(region, households, scale, on)
    actor = system_actor(name="study")
    engine = program_engine or make_engine(f"sqlite:///{work / 'programme.db'}")
    if program_engine is None:
        init_database(engine)
    t = time.perf_counter()
    with session_scope(engine) as session:
        _load_registry(session, actor, out, "households.csv", FACT_FILES)
    seconds["import"] = time.perf_counter() - t
    t = time.perf_counter()
    # Imported here: the verification flow pulls in the linkage model (Splink) only when feeds are ingested.
    from doudi.verification.flows import ingest_and_link

    for path in sorted((out / "feeds").glob("*.csv")):
        if path.stem == "noise" or path.stat().st_size == 0 or len(path.read_bytes().splitlines()) < 2:
            continue
        with session_scope(engine) as session:
            ingest_and_link(session, actor=actor, source_key=path.stem, path=path, area_code=region)
    seconds["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    with session_scope(engine) as session:
        study.decisions["declared"] = _decide(session, on, ["declared"])
        study.counts["feed_facts"] = flows.verify_county(session, actor=actor, on=on)
    with session_scope(engine) as session:
        study.decisions["verified"] = _decide(session, on)
        study.counts.update(_monitoring(session, actor, region, on, study.decisions["verified"]))
    with session_scope(engine) as session:
        study.decisions["monitoring"] = _decide(session, on)
    seconds["assess"] = time.perf_counter() - t
    t = time.perf_counter()
    truth_engine = make_engine(f"sqlite:///{work / 'truth.db'}")
    init_database(truth_engine)
    with session_scope(truth_engine) as session:
        study.counts["truth_rows_quarantined"] = _load_registry(session, actor, out, "truth/households.csv",
                                                                TRUTH_FILES, strict=False)
    with session_scope(truth_engine) as session:
        study.decisions["truth"] = _decide(session, on, ["declared"])
        study.decisions["floor"] = _decide(session, on)
    truth_engine.dispose()
    if program_engine is None:
        engine.dispose()
    seconds["truth"] = time.perf_counter() - t
    truth = study.decisions["truth"]
    study.errors = pl.concat([rules.error_rates(study.decisions[lvl], truth).with_columns(level=pl.lit(lvl))
                              for lvl in (*LEVELS, "floor")]).select("level", pl.exclude("level"))
    study.visibility = pl.read_parquet(out / "truth" / "visibility.parquet")
    study.counts["households"] = truth["key"].n_unique()
    study.seconds = {k: round(v, 2) for k, v in seconds.items()}
    return study


def error_of(study: Study, level: str, program: str) -> dict[str, Any]:
    """One level's row for one program."""
    rows = study.errors.filter((pl.col("level") == level) & (pl.col("program") == program)).to_dicts()
    return rows[0] if rows else {}
