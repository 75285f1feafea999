"""A county-wide monitoring run: every warning rule over synthetic recipients, enrollments and a mixed feed,
against the raw DuckDB join of the same recipients and feed rows (the reference, measured in the same run).

    python -m bench monitor
    DOUDI_BENCH_PEOPLE=10000000 DOUDI_BENCH_FEED=50000000 python -m bench monitor     # the issue's full scale

Input: Parquet snapshots written outside the timing (people in 3-person households, 30 % of households
enrolled in 低保, and a feed mixing deaths, vehicles, bank balances, tax, social insurance and medical rows, 40 %
of them about recipients), read back into Polars frames. What is timed: reading the snapshots and
`monitoring.run.evaluate` + `group_hits` (the pure, vectorised part of `doudi monitor run`: every rule, the
grouping into one warning per rule and subject, fingerprints); the database write of the warnings is not in this
figure. Incremental: the same registry with only a new batch (1/50 of the feed) as the feed frame.
Targets (2 cores, scaled from the issue's 15 s for 10M people + 50M feed rows): full run ≤ 15 s × scale,
incremental ≤ 2 s × scale; and the full run within 2× the raw join per rule (reported as the ratio of the run to
20 rules' worth of raw join — each rule joins the feed to the people once).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ON = date(2026, 11, 16)
SOURCES = ["death", "vehicle", "bank", "tax", "social_insurance", "medical"]


def _snapshot(directory: Path, people: int, feed_rows: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    pid = np.arange(1, people + 1)
    hid = (pid - 1) // 3 + 1
    households = int(hid.max())
    birth = np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, people).astype("timedelta64[D]")
    pl.DataFrame({"person_id": pid, "household_id": hid, "area_code": "370784001001", "relation": "head",
                  "name": "某", "id_number": pid.astype(str), "birth_date": birth, "hukou_type": "rural"}
                 ).write_parquet(directory / "members.parquet")
    enrolled = np.flatnonzero(rng.random(households) < 0.3) + 1
    review = np.datetime64("2026-06-01") + rng.integers(0, 365, enrolled.size).astype("timedelta64[D]")
    pl.DataFrame({"enrollment_id": np.arange(1, enrolled.size + 1), "household_id": enrolled,
                  "area_code": "370784001001", "program": "dibao", "status": "active",
                  "start_month": date(2025, 1, 1), "monthly_amount": 537.0, "next_review_on": review}
                 ).write_parquet(directory / "enrollments.parquet")
    recipient_people = (np.repeat(enrolled, 3) - 1) * 3 + np.tile(np.arange(1, 4), enrolled.size)
    recipient_people = recipient_people[recipient_people <= people]
    about = np.where(rng.random(feed_rows) < 0.4, rng.choice(recipient_people, feed_rows),
                     rng.integers(1, people + 1, feed_rows))
    source = rng.integers(0, len(SOURCES), feed_rows)
    day = np.datetime64("2026-01-01") + rng.integers(0, 300, feed_rows).astype("timedelta64[D]")
    amount = rng.gamma(2.0, 3000.0, feed_rows)
    code = np.array(["cremation", "car", "deposit", "wage", "contribution", ""])[source]
    pl.DataFrame({"batch_id": 1 + np.arange(feed_rows) // max(1, feed_rows // 50), "row_number": np.arange(feed_rows),
                  "source_key": np.array(SOURCES)[source], "area_code": "370784", "person_id": about,
                  "id_number": about.astype(str), "name": "某", "event_date": day, "amount": amount, "code": code}
                 ).write_parquet(directory / "feed.parquet")


def _inputs(directory: Path, feed: pl.DataFrame | None = None) -> Any:
    from doudi.monitoring.rules.base import Inputs

    std = pl.DataFrame({"county": ["370784"], "urban": [719.0], "rural": [537.0], "financial_months": [24.0]})
    return Inputs(members=pl.read_parquet(directory / "members.parquet"),
                  enrollments=pl.read_parquet(directory / "enrollments.parquet"),
                  feed=feed if feed is not None else pl.read_parquet(directory / "feed.parquet"),
                  standards=std).conformed()


def _evaluate(inp: Any) -> tuple[pl.DataFrame, dict[str, float]]:
    from doudi.monitoring.run import evaluate, group_hits, rule_specs
    from doudi.policy.params import load_pack

    specs = rule_specs("370784", ON)
    params = load_pack("370784").at(ON)
    per_rule: dict[str, float] = {}
    last = [time.perf_counter()]

    def tick(key: str, done: int, total: int) -> None:
        now = time.perf_counter()
        per_rule[key] = round(now - last[0], 3)
        last[0] = now

    grouped = group_hits(evaluate(inp, specs, params, ON, tick))
    return grouped, per_rule


def _raw_join(directory: Path) -> float:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    n = con.execute(f"""
        SELECT count(*) FROM read_parquet('{directory / "feed.parquet"}') f
        JOIN read_parquet('{directory / "members.parquet"}') m USING (person_id)
        JOIN (SELECT DISTINCT household_id FROM read_parquet('{directory / "enrollments.parquet"}')) e
          ON e.household_id = m.household_id""").fetchone()
    con.close()
    assert n is not None
    return time.perf_counter() - t0


def run() -> dict[str, Any]:
    """Figures, targets and the ratio to the raw join."""
    people = int(os.environ.get("DOUDI_BENCH_PEOPLE", "1000000"))
    feed_rows = int(os.environ.get("DOUDI_BENCH_FEED", "5000000"))
    scale = max(people / 10_000_000, feed_rows / 50_000_000)
    from doudi.monitoring.run import rule_specs

    rule_specs("370784", ON)  # imports and the parsed packs (cached) are start-up cost, not the run's
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _snapshot(d, people, feed_rows)
        t0 = time.perf_counter()
        inp = _inputs(d)
        t1 = time.perf_counter()
        grouped, per_rule = _evaluate(inp)
        full_s = time.perf_counter() - t0
        batch = pl.read_parquet(d / "feed.parquet").filter(pl.col("batch_id") == 50)
        i0 = time.perf_counter()
        incremental, _ = _evaluate(_inputs(d, feed=batch))
        incremental_s = time.perf_counter() - i0
        join_s = _raw_join(d)
    full_target, inc_target = 15 * scale, 2 * scale
    slowest = max(per_rule.items(), key=lambda kv: kv[1])
    return {
        "database": "none for the timed part (Parquet snapshots → Polars); reference: DuckDB 2 threads",
        "input": {"people": people, "households": (people + 2) // 3, "feed_rows": feed_rows,
                  "incremental_batch_rows": batch.height},
        "read_s": round(t1 - t0, 3), "full_run_s": round(full_s, 3), "incremental_s": round(incremental_s, 3),
        "warnings": grouped.height, "incremental_warnings": incremental.height,
        "per_rule_s": per_rule, "slowest_rule": slowest,
        "raw_duckdb_join_s": round(join_s, 3),
        "ratio_slowest_rule_to_join": round(slowest[1] / join_s, 2) if join_s else None,
        "ratio_full_run_to_join": round(full_s / join_s, 2) if join_s else None,
        "targets": {"full_run_s": round(full_target, 2), "incremental_s": round(inc_target, 2),
                    "slowest_rule_vs_join": 2.0},
        "full_run": "OK" if full_s <= full_target else "MISSED",
        "incremental": "OK" if incremental_s <= inc_target else "MISSED",
        "per_rule_vs_join": "OK" if join_s and slowest[1] <= 2 * join_s else "MISSED",
        "on": str(ON), "note": f"scale {scale:.2f} of the issue's 10M people / 50M feed rows",
    }
