"""Latency of the inbox and case pages with 20,000 cases, against /healthz on the same server.

Seeds a fresh database in bulk (Core inserts, not the services: this measures reads), serves the real app
with uvicorn in a thread, signs in as a county officer and times sequential requests with httpx.
Environment: DOUDI_BENCH_CASES (default 20000), DOUDI_BENCH_REQUESTS (default 200),
DOUDI_BENCH_DATABASE_URL (default: a temporary SQLite file).

CPU time per request is the process's (server thread and client together), so a busy machine inflates it far
less than the wall time. To compare two versions on the same machine (issue 10: within 10% of the figures before
a change), run the older one with DOUDI_BENCH_SAVE=before.json, then this one with DOUDI_BENCH_BASELINE=before.json:
each page prints its CPU p50 against the saved one, OK within 10%.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from doudi.areas.service import AreaRow, upsert_areas
from doudi.auth import service as auth
from doudi.auth.permissions import system_actor
from doudi.bootstrap import init_database
from doudi.cases.models import Case, CaseEvent, CaseStep
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.db.engine import make_engine, session_scope
from doudi.registry.models import Household, Membership, Person

PASSWORD = "Bench!Passw0rd"
STEPS = ["accept", "investigation_start", "home_visit", "verification", "first_review", "confirmation", "decision"]


def _seed(url: str, n: int) -> None:
    engine = make_engine(url)
    init_database(engine)
    towns = [f"370784{t:03d}" for t in range(1, 13)]
    with session_scope(engine) as s:
        rows = [AreaRow(t, f"乡镇{i + 1}", True, "synthetic") for i, t in enumerate(towns)]
        rows += [AreaRow(f"{t}{v:03d}", f"村{v}", True, "synthetic") for t in towns for v in range(1, 11)]
        upsert_areas(s, rows=rows)
        auth.create_user(s, actor=system_actor(), username="bench_county", password=PASSWORD,
                         roles=["county_officer"], area_code="370784")
    rng = random.Random(7)
    today = clock.today()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        villages = [f"{t}{v:03d}" for t in towns for v in range(1, 11)]
        hh = [{"id": i + 1, "household_no": f"B{i + 1:08d}", "area_code": rng.choice(villages), "address": "",
               "hukou_type": "rural", "version": 1} for i in range(n)]
        conn.execute(insert(Household), hh)
        persons: list[dict[str, Any]] = [
            {"id": i + 1, "id_number": build_id_number("370784", date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
                                                       i * 2 % 1000 + (i // 500) * 0, "M"),
             "name": f"申请人{i}", "sex": "M", "birth_date": date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
             "version": 1} for i in range(n)]
        seen: set[str] = set()
        for p in persons:  # make the synthetic numbers unique by walking the sequence code
            k = 0
            while p["id_number"] in seen:
                k += 1
                p["id_number"] = build_id_number("370784", p["birth_date"], (p["id"] * 2 + k * 2) % 1000, "M")
            seen.add(p["id_number"])
        conn.execute(insert(Person), persons)
        conn.execute(insert(Membership), [{"household_id": i + 1, "person_id": i + 1, "relation": "head",
                                           "valid_from": date(2020, 1, 1)} for i in range(n)])
        cases, steps, events = [], [], []
        sid = 0
        for i in range(n):
            accepted = today - timedelta(days=rng.randint(0, 60))
            cases.append({"id": i + 1, "case_no": f"SQB{i + 1:08d}", "kind": "standard", "household_id": i + 1,
                          "area_code": hh[i]["area_code"], "status": "open", "channel": "staff",
                          "applicant_name": f"申请人{i}", "programs": ["dibao"], "proposed": {}, "declared": {},
                          "accepted_on": accepted, "due_on": accepted + timedelta(days=28), "version": 1,
                          "submitted_at": now})
            active = rng.randint(1, len(STEPS) - 1)
            for j, key in enumerate(STEPS):
                sid += 1
                status = "done" if j < active else ("active" if j == active else "waiting")
                steps.append({"id": sid, "case_id": i + 1, "seq": j + 1, "key": key, "round": 1, "status": status,
                              "due_on": accepted + timedelta(days=3 * (j + 1)), "level": "township", "data": {}})
            events += [{"case_id": i + 1, "actor": "bench", "kind": "accepted", "message": "已受理", "at": now,
                        "public": True, "data": {}} for _ in range(3)]
        for chunk in range(0, len(cases), 5000):
            conn.execute(insert(Case), cases[chunk:chunk + 5000])
        for chunk in range(0, len(steps), 20000):
            conn.execute(insert(CaseStep), steps[chunk:chunk + 20000])
        for chunk in range(0, len(events), 20000):
            conn.execute(insert(CaseEvent), events[chunk:chunk + 20000])
    if engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would give a live database
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _time(client: httpx.Client, paths: list[str]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each request."""
    wall, cpu = [], []
    for p in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(p)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, (p, r.status_code)
    return wall, cpu


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def run() -> dict[str, Any]:
    """Seed, serve, measure; print p50/p95 per page and the ratio to /healthz."""
    from tests.live import serve

    n = int(os.environ.get("DOUDI_BENCH_CASES", "20000"))
    reqs = int(os.environ.get("DOUDI_BENCH_REQUESTS", "200"))
    tmp = Path(tempfile.mkdtemp(prefix="doudi-bench-"))
    url = os.environ.get("DOUDI_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    _seed(url, n)
    seed_s = time.perf_counter() - t0
    results: dict[str, Any] = {"cases": n, "seed_seconds": round(seed_s, 1), "backend": url.split(":")[0]}
    with serve(url, tmp / "var") as base, httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "bench_county", "password": PASSWORD, "csrf_token": token})
        rng = random.Random(11)
        probes = {
            "healthz (reference)": ["/healthz"] * reqs,
            "inbox": ["/inbox"] * reqs,
            "inbox overdue": ["/inbox?only=overdue"] * (reqs // 2),
            "case list": [f"/cases?page={rng.randint(1, 50)}" for _ in range(reqs)],
            "case detail": [f"/cases/{rng.randint(1, n)}" for _ in range(reqs)],
        }
        _time(client, ["/inbox", "/cases", "/cases/1"])  # warm-up
        ref = None
        for name, paths in probes.items():
            ms, cpu = _time(client, paths)
            p50, p95 = statistics.median(ms), _p(ms, 95)
            ref = ref or p95
            results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "cpu_p50_ms": round(
                statistics.median(cpu), 2), "x_reference_p95": round(p95 / ref, 1)}
    print(f"cases bench ({results['backend']}, {n} cases, seeded in {seed_s:.1f}s, {reqs} requests per page):")
    for k, v in results.items():
        if isinstance(v, dict):
            print(f"  {k:22s} p50 {v['p50_ms']:7.1f} ms   p95 {v['p95_ms']:7.1f} ms   CPU p50 {v['cpu_p50_ms']:7.2f} ms"
                  f"   ×{v['x_reference_p95']} /healthz")
    _compare(results)
    return results


def _compare(results: dict[str, Any]) -> None:
    """Save the figures, or print each page's CPU time against a saved run (target: within 10%)."""
    if saved := os.environ.get("DOUDI_BENCH_SAVE"):
        Path(saved).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    baseline = os.environ.get("DOUDI_BENCH_BASELINE")
    if not baseline:
        return
    before = json.loads(Path(baseline).read_text())
    print(f"  against {baseline} (target: CPU p50 within 10% of it):")
    for k, v in results.items():
        old = before.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and old.get("cpu_p50_ms"):
            ratio = v["cpu_p50_ms"] / old["cpu_p50_ms"]
            print(f"    {k:22s} CPU p50 {old['cpu_p50_ms']:7.2f} → {v['cpu_p50_ms']:7.2f} ms  ×{ratio:.2f}  "
                  f"{'OK' if ratio <= 1.10 else 'MISSED'}")


if __name__ == "__main__":
    run()
