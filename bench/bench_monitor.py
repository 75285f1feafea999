"""A county-wide monitoring run on PostgreSQL: every warning rule over synthetic recipients, enrollments and a
mixed feed, the ledger diff and the warnings written; against the raw DuckDB join of the same recipients and feed
rows (the reference, measured in the same run).

    python -m bench monitor
    DOUDI_BENCH_PEOPLE=10000000 DOUDI_BENCH_FEED=50000000 python -m bench monitor     # the issue's full scale
    DOUDI_BENCH_MIX=uniform python -m bench monitor        # every source equally often, 40 % about recipients

Input: Parquet snapshots written outside the timing — people in 3-person households, 30 % of households enrolled
in 低保, and a feed of one file per source (a feed batch is one agency's file), 40 % of its rows about recipients.
The default mix is weighted like real feeds (monthly tax, social-insurance and medical rows are most of them;
deaths, vehicles and business registrations are rare; recipients' wages and balances are low, with a tail above
the standards); `uniform` draws every source equally, so that two rows in five raise a warning (the stress case).
The persons and households are seeded into a throw-away PostgreSQL database (the warnings' references are checked),
then vacuumed and analysed as autovacuum would.

What is timed (what the user waits for): reading the snapshots, `monitoring.run.run` — every rule, one warning per
rule and subject, the diff against the open warnings in the database, the warnings written by COPY — and the
commit. Incremental: after the full run, a new batch of 1/50 of the feed rows: its rows and only the members of
the households they touch (a filtered Parquet scan) go through `run(..., incremental=True)` and are committed.
Then the full run again over the same snapshot (the daily run when nothing changed: every warning is open,
none gains evidence, nothing is written; untimed against a target, printed as `rerun_*`). Each run's steps are
printed with wall, process CPU and backend CPU (`*_phases`: snapshot read, read, prepare, rules, group, diff, insert,
attach, sides, commit).
The write's reference, in the same run: the stored warnings COPYed into a bare table (no index, trigger or
constraint; logged like the ledger), printed as `raw_copy_bare_table_s` and the insert's ratio to it per row.
Targets (2 cores, scaled from the issue's 15 s for 10M people + 50M feed rows): full run ≤ 15 s × scale,
incremental ≤ 2 s × scale; and no rule slower than 2× the raw join. CPU seconds are printed beside wall seconds,
because the 2 cores may be shared: this process's, and the PostgreSQL backend's (read from /proc when the
server runs on this machine), which does the COPY, the index and reference-check work of the written warnings.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import create_engine, func, select, text

from testkit.monitoring_county import AREA, ON, county, feed


def _snapshot(directory: Path, people: int, feed_rows: int, mix: str, seed: int = 11) -> None:
    from testkit.monitoring_events import plant

    rng = np.random.default_rng(seed)
    members, enrollments, recipient_people = county(people, rng)
    sources = feed(people, feed_rows, recipient_people, rng, mix, 1, 0)
    # Planted events with ground truth (truth/events.csv): each deterministic rule's situation, and decoys.
    planted = plant(members, enrollments, sources, on=ON, per_kind=max(3, people // 100_000))
    planted.members.write_parquet(directory / "members.parquet")
    planted.enrollments.write_parquet(directory / "enrollments.parquet")
    (directory / "truth").mkdir()
    planted.events.write_csv(directory / "truth" / "events.csv")
    for key, part in planted.sources.items():
        part.write_parquet(directory / f"feed_{key}.parquet")
    new_dir = directory / "new"
    new_dir.mkdir()
    batch = feed(people, max(1, feed_rows // 50), recipient_people, np.random.default_rng(seed + 1), mix,
                  10_000, feed_rows)
    for key, part in batch.items():
        part.write_parquet(new_dir / f"feed_{key}.parquet")


def _standards() -> pl.DataFrame:
    return pl.DataFrame({"county": ["370784"], "urban": [719.0], "rural": [537.0], "financial_months": [24.0]})


def _read_full(directory: Path) -> Any:
    from doudi.monitoring.rules.base import Inputs

    sources = {p.stem.removeprefix("feed_"): pl.read_parquet(p) for p in sorted(directory.glob("feed_*.parquet"))}
    return Inputs(members=pl.read_parquet(directory / "members.parquet"),
                  enrollments=pl.read_parquet(directory / "enrollments.parquet"),
                  sources=sources, standards=_standards()).conformed()


def _read_new(directory: Path) -> Any:
    """The new batch, and the members and enrollments of only the households its rows touch."""
    from doudi.monitoring.rules.base import Inputs

    sources = {p.stem.removeprefix("feed_"): pl.read_parquet(p)
               for p in sorted((directory / "new").glob("feed_*.parquet"))}
    people = pl.concat([s.select("person_id") for s in sources.values()]).unique()
    members = pl.scan_parquet(directory / "members.parquet")
    households = members.join(people.lazy(), on="person_id", how="semi").select("household_id").unique()
    touched = members.join(households, on="household_id", how="semi")
    enrollments = pl.scan_parquet(directory / "enrollments.parquet").join(households, on="household_id", how="semi")
    m, e = pl.collect_all([touched, enrollments])
    return Inputs(members=m, enrollments=e, sources=sources, standards=_standards()).conformed()


def _seed(url: str, directory: Path) -> None:
    from doudi.areas.service import AreaRow, upsert_areas
    from doudi.bootstrap import init_database
    from doudi.db.engine import make_engine, session_scope
    from doudi.db.frames import write_frame
    from doudi.registry.models import Household, Person

    engine = make_engine(url)
    init_database(engine)
    with session_scope(engine) as s:
        upsert_areas(s, rows=[AreaRow("370784001", "乡镇1", True, "synthetic"),
                              AreaRow(AREA, "村001", True, "synthetic")])
    m = pl.read_parquet(directory / "members.parquet")
    with session_scope(engine) as s:
        hh = m.select("household_id").unique().sort("household_id")
        write_frame(s, Household, hh.select(id="household_id", household_no=pl.format("B{}", "household_id"),
                                            area_code=pl.lit(AREA), hukou_type=pl.lit("rural")))
        # One row per person (a planted duplicate is listed in two households); a blank ID gets a placeholder.
        write_frame(s, Person, m.unique("person_id").select(
            id="person_id", name="name", sex=pl.lit("M"), birth_date="birth_date",
            id_number=pl.when(pl.col("id_number").str.len_chars() == 18).then("id_number")
            .otherwise(pl.format("B{}", "person_id"))))
    # Vacuumed and analysed, as autovacuum leaves a registry of any age: the warnings' reference checks then
    # read the persons' and households' keys from their indexes alone (no visit to each row's page).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) persons, households"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _raw_join(directory: Path) -> tuple[float, float]:
    # Imported here: DuckDB is only the reference of this benchmark.
    import duckdb

    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    n = con.execute(f"""
        SELECT count(*) FROM read_parquet('{directory / "feed_*.parquet"}') f
        JOIN read_parquet('{directory / "members.parquet"}') m USING (person_id)
        JOIN (SELECT DISTINCT household_id FROM read_parquet('{directory / "enrollments.parquet"}')) e
          ON e.household_id = m.household_id""").fetchone()
    con.close()
    assert n is not None
    return time.perf_counter() - t0, time.process_time() - c0


def _raw_copy(engine: Any) -> tuple[float, int]:
    """The reference for the ledger's insert: the same warnings COPYed into a bare, logged table (no index, no
    trigger, no constraint), in the ledger's own column text. Wall seconds of that COPY and its rows."""
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        data = bytearray()
        with cur.copy("COPY (SELECT * FROM monitoring_warnings) TO STDOUT") as out:
            for block in out:
                data += block
        cur.execute("CREATE TABLE bench_bare_warnings (LIKE monitoring_warnings)")
        t0 = time.perf_counter()
        with cur.copy("COPY bench_bare_warnings FROM STDIN") as into:
            into.write(bytes(data))
        seconds = time.perf_counter() - t0
        rows = cur.execute("SELECT count(*) FROM bench_bare_warnings").fetchone()[0]
        cur.execute("DROP TABLE bench_bare_warnings")
    return seconds, int(rows)


def _server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend process (None when the server is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _timed(engine: Any, read: Any, incremental: bool) -> tuple[float, float, float, dict[str, float], dict[str, Any]]:
    from doudi.auth.permissions import system_actor
    from doudi.db.engine import session_scope
    from doudi.monitoring.run import run

    per_rule: dict[str, float] = {}
    per_rule_cpu: dict[str, float] = {}
    # Each step of the run: wall, this process's CPU and the PostgreSQL backend's CPU (where the time goes).
    phases: dict[str, dict[str, float | None]] = {}
    c0, t0 = time.process_time(), time.perf_counter()
    inp = read()
    read_s = time.perf_counter() - t0
    phases["snapshot_read"] = {"wall": round(read_s, 3), "cpu": round(time.process_time() - c0, 3), "pg_cpu": 0.0}
    last = [time.perf_counter(), time.process_time()]

    def tick(key: str, done: int, total: int) -> None:
        now, cpu_now = time.perf_counter(), time.process_time()
        per_rule[key] = round(now - last[0], 3)
        per_rule_cpu[key] = round(cpu_now - last[1], 3)
        last[:] = [now, cpu_now]

    with session_scope(engine) as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        server0 = _server_cpu(pid)
        mark: list[Any] = []

        def phase(name: str) -> None:
            now = (name, time.perf_counter(), time.process_time(), _server_cpu(pid))
            if mark:
                before = mark.pop()
                pg = now[3] - before[3] if now[3] is not None and before[3] is not None else None
                phases[before[0]] = {"wall": round(now[1] - before[1], 3), "cpu": round(now[2] - before[2], 3),
                                     "pg_cpu": round(pg, 3) if pg is not None else None}
            mark.append(now)
            if name == "rules":  # each rule's time starts here, after the shared preparation
                last[:] = [now[1], now[2]]

        result = run(s, actor=system_actor(name="bench"), on=ON, area="370784", inputs=inp, incremental=incremental,
                     progress=tick, phase=phase)
        phase("commit")
    phase("done")  # after the commit; the backend lives on in the engine's pool
    server1 = _server_cpu(pid)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    new = sum(c["new"] for c in result.counts.values())
    attached = sum(c["attached"] for c in result.counts.values())
    server = round(server1 - server0, 3) if server0 is not None and server1 is not None else None
    return wall, cpu, read_s, per_rule, {"new": new, "attached": attached, "per_rule_cpu": per_rule_cpu,
                                         "server_cpu": server, "phases": phases,
                                         "by_rule": {k: c["new"] for k, c in result.counts.items() if c["new"]}}


def run() -> dict[str, Any]:
    """Figures, targets and the ratio to the raw join."""
    from doudi.db.engine import make_engine
    from doudi.monitoring.models import MonitorWarning
    from doudi.monitoring.run import rule_specs

    people = int(os.environ.get("DOUDI_BENCH_PEOPLE", "1000000"))
    feed_rows = int(os.environ.get("DOUDI_BENCH_FEED", "5000000"))
    mix = os.environ.get("DOUDI_BENCH_MIX", "weighted")
    scale = max(people / 10_000_000, feed_rows / 50_000_000)
    admin_url = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    rule_specs("370784", ON)  # imports and the parsed packs (cached) are start-up cost, not the run's
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"doudi_bench_mon_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            _snapshot(d, people, feed_rows, mix)
            _seed(url, d)
            engine = make_engine(url)
            full_s, full_cpu, read_s, per_rule, full = _timed(engine, lambda: _read_full(d), False)
            inc_s, inc_cpu, inc_read_s, inc_rules, inc = _timed(engine, lambda: _read_new(d), True)
            # The daily run again over the same snapshot: everything it finds is open already, nothing is written.
            again_s, again_cpu, _, _, again = _timed(engine, lambda: _read_full(d), False)
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(MonitorWarning)).scalar_one()
                got = set(conn.execute(select(MonitorWarning.rule_key, MonitorWarning.subject_key)).tuples())
            truth = pl.read_csv(d / "truth" / "events.csv")
            planted = truth.filter(~pl.col("decoy"))
            caught = sum((r, k) in got for r, k in zip(planted["rule"], planted["subject_key"], strict=True))
            decoys = truth.filter(pl.col("decoy"))["subject_key"].to_list()
            decoys_flagged = sum(("duplicate", k) in got for k in decoys)
            copy_s, copy_rows = _raw_copy(engine)
            engine.dispose()
            batch_rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item()
                             for p in (d / "new").glob("feed_*.parquet"))
            join_s, join_cpu = _raw_join(d)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    full_target, inc_target = 15 * scale, 2 * scale
    slowest = max(per_rule.items(), key=lambda kv: kv[1])
    slowest_cpu = max(full["per_rule_cpu"].items(), key=lambda kv: kv[1])
    return {
        "database": "PostgreSQL (local), warnings written by COPY; reference: DuckDB 2 threads on the same Parquet",
        "input": {"people": people, "households": (people + 2) // 3, "feed_rows": feed_rows, "mix": mix,
                  "incremental_batch_rows": batch_rows},
        "full_run_s": round(full_s, 3), "full_run_cpu_s": round(full_cpu, 3), "full_read_s": round(read_s, 3),
        "full_new_warnings": full["new"], "full_new_by_rule": full["by_rule"],
        "full_run_server_cpu_s": full["server_cpu"], "full_run_phases": full["phases"],
        "incremental_s": round(inc_s, 3), "incremental_cpu_s": round(inc_cpu, 3),
        "incremental_server_cpu_s": inc["server_cpu"], "incremental_phases": inc["phases"],
        "rerun_s": round(again_s, 3), "rerun_cpu_s": round(again_cpu, 3), "rerun_server_cpu_s": again["server_cpu"],
        "rerun_new": again["new"], "rerun_attached": again["attached"], "rerun_phases": again["phases"],
        "incremental_read_s": round(inc_read_s, 3), "incremental_new": inc["new"],
        "incremental_attached": inc["attached"], "warnings_stored": stored,
        "planted_events": planted.height, "planted_found": caught,
        "recall_deterministic": round(caught / planted.height, 4) if planted.height else None,
        "namesake_decoys": len(decoys), "decoys_flagged": decoys_flagged,
        "per_rule_s": per_rule, "slowest_rule": slowest, "incremental_per_rule_s": inc_rules,
        "per_rule_cpu_s": full["per_rule_cpu"], "slowest_rule_cpu": slowest_cpu,
        "raw_duckdb_join_s": round(join_s, 3), "raw_duckdb_join_cpu_s": round(join_cpu, 3),
        "ratio_slowest_rule_to_join_cpu": round(slowest_cpu[1] / join_cpu, 2) if join_cpu else None,
        "ratio_slowest_rule_to_join": round(slowest[1] / join_s, 2) if join_s else None,
        "ratio_full_run_to_join": round(full_s / join_s, 2) if join_s else None,
        # The write's floor: the database alone, with nothing to maintain but the heap and its WAL.
        "raw_copy_bare_table_s": round(copy_s, 3), "raw_copy_rows": copy_rows,
        "ratio_insert_to_raw_copy": (round(full["phases"]["insert"]["wall"] * copy_rows / full["new"] / copy_s, 2)
                                     if copy_s and full["new"] else None),
        "targets": {"full_run_s": round(full_target, 2), "incremental_s": round(inc_target, 2),
                    "slowest_rule_vs_join": 2.0},
        "full_run": "OK" if full_s <= full_target else "MISSED",
        "incremental": "OK" if inc_s <= inc_target else "MISSED",
        "per_rule_vs_join": "OK" if join_s and slowest[1] <= 2 * join_s else "MISSED",
        "load_average": os.getloadavg()[0],
        "on": str(ON), "note": f"scale {scale:.2f} of the issue's 10M people / 50M feed rows",
    }
