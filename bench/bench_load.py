"""A bounded load test on the loopback interface: 20 clients mix reads and writes for 60 seconds while an agency
feed is ingested, against a demo county on SQLite (1 server process) and, when reachable, PostgreSQL (4).

    python -m bench load

Mix per client: 35% GET /api/v1/inbox, 25% GET /api/v1/cases/{id}, 15% GET /api/v1/households?page=,
25% POST /api/v1/households/{id}/facts (a write: a declared fact, audited). A feed (the demo's tax feed) is
ingested by `doudi feeds ingest` while the clients run. Reference in the same run: GET /healthz, probed every
100 ms by its own client under the same load. Bounded: DOUDI_BENCH_LOAD_SECONDS (60) and at most
DOUDI_BENCH_LOAD_MAX_REQUESTS (200,000) requests; the server only ever listens on 127.0.0.1.

Targets (issue 14): 0 errors (5xx or failed connections) on both backends; on PostgreSQL with 4 workers
≥ 3 × 63 = 189 req/s, and inbox and case-page p95 ≤ 150 ms. 409 answers (a write beaten by another) and 4xx are
counted apart, not as errors. Size: DOUDI_BENCH_LOAD_HOUSEHOLDS (300) demo households.

Where the cores go is printed beside the latencies: the CPU of the server, of the load clients, of PostgreSQL (every
`postgres` process on this machine, the ingest's COPY included) and of the ingest, and each server process's share
(an uneven share means the clients' kept-alive connections landed unevenly on the workers).
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.server import cpu_seconds, postgres_cpu_seconds, serve, worker_pids

SECONDS = float(os.environ.get("DOUDI_BENCH_LOAD_SECONDS", "60"))
MAX_REQUESTS = int(os.environ.get("DOUDI_BENCH_LOAD_MAX_REQUESTS", "200000"))
CLIENTS = int(os.environ.get("DOUDI_BENCH_LOAD_CLIENTS", "20"))
HOUSEHOLDS = int(os.environ.get("DOUDI_BENCH_LOAD_HOUSEHOLDS", "300"))
PASSWORD = "Doudi#2026demo"  # the demo accounts' password
MIX = [("inbox", 35), ("case", 25), ("households", 15), ("write", 25)]



def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Tally:
    """Latencies and outcomes per kind of request, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.conflicts = 0
        self.refused: dict[int, int] = defaultdict(int)
        self.total = 0
        self.timed: list[tuple[float, str, float]] = []  # (end, kind, ms): latencies while the feed ingests

    def add(self, kind: str, ms: float, status: int | None) -> None:
        with self.lock:
            self.total += 1
            self.ms[kind].append(ms)
            self.timed.append((time.perf_counter(), kind, ms))
            if status is None or status >= 500:
                self.errors[f"{kind} {status or 'connection'}"] += 1
            elif status == 409:
                self.conflicts += 1
            elif status >= 400:
                self.refused[status] += 1


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (the feed ingest)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _client(base: str, token: str, cases: list[int], households: list[int], stop: float, tally: Tally,
            seed: int) -> None:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while time.perf_counter() < stop and tally.total < MAX_REQUESTS:
            kind = rng.choice(kinds)
            if kind == "inbox":
                method, url, body = "GET", "/api/v1/inbox", None
            elif kind == "case":
                method, url, body = "GET", f"/api/v1/cases/{rng.choice(cases)}", None
            elif kind == "households":
                method, url, body = "GET", f"/api/v1/households?page={rng.randint(1, 10)}", None
            else:
                method, url = "POST", f"/api/v1/households/{rng.choice(households)}/facts"
                body = {"kind": "income", "item": "wage", "amount": str(rng.randint(100, 900)),
                        "period_start": "2026-01-01", "period_end": "2026-01-31", "note": "压力测试"}
            t0 = time.perf_counter()
            try:
                status: int | None = client.request(method, url, json=body).status_code
            except httpx.TransportError:
                status = None
            tally.add(kind, (time.perf_counter() - t0) * 1000, status)


def _health(base: str, stop: float, tally: Tally) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                status: int | None = client.get("/healthz").status_code
            except httpx.TransportError:
                status = None
            tally.add("healthz", (time.perf_counter() - t0) * 1000, status)
            time.sleep(0.1)


def _prepare(url: str, data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "DOUDI_DATABASE_URL": url, "DOUDI_DATA_DIR": str(data_dir), "DOUDI_SECRET_KEY": "bench",
           "DOUDI_AUDIT_KEY": "bench", "DOUDI_LOG_LEVEL": "WARNING", "DOUDI_DEMO": "true"}
    subprocess.run([sys.executable, "-m", "doudi", "demo", "--households", str(HOUSEHOLDS), "--no-serve"],
                   env=env, check=True, capture_output=True)
    return env


def _backend(label: str, url: str, workers: int, data_dir: Path) -> dict[str, Any]:
    env = _prepare(url, data_dir)
    feed = next(iter(sorted((data_dir / "demo" / "feeds").glob("*tax*.csv"))), None)
    with serve(env, workers=workers) as (base, pid):
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/auth/token", data={"username": "county", "password": PASSWORD}
                                ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            cases = [c["id"] for c in client.get("/api/v1/cases?per_page=200", headers=headers).json()["items"]]
            households = [h["id"] for h in client.get("/api/v1/households?per_page=200", headers=headers
                                                      ).json()["items"]]
        tally = Tally()
        stop = time.perf_counter() + SECONDS
        ingest = None
        if feed is not None:  # a changed copy of the demo's tax feed (a new file hash), so the ingest really runs
            copy = data_dir / f"tax-{uuid.uuid4().hex[:6]}.csv"
            shutil.copy(feed, copy)
            text = copy.read_text(encoding="utf-8").splitlines()
            copy.write_text("\n".join([text[0], *[line.replace("R", "L", 1) for line in text[1:]]]) + "\n",
                            encoding="utf-8")
            ingest = subprocess.Popen([sys.executable, "-m", "doudi", "feeds", "ingest", "--source", "tax", str(copy)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ended: list[float] = []
        if ingest is not None:
            def watch(proc: subprocess.Popen[bytes]) -> None:
                proc.wait()
                ended.append(time.perf_counter())

            threading.Thread(target=watch, args=(ingest,), daemon=True).start()
        threads = [threading.Thread(target=_client, args=(base, token, cases, households, stop, tally, i))
                   for i in range(CLIENTS)]
        threads.append(threading.Thread(target=_health, args=(base, stop, tally)))
        started, server_cpu0, own_cpu0 = time.perf_counter(), cpu_seconds(pid), time.process_time()
        db_cpu0, children0 = postgres_cpu_seconds(), _children_cpu()
        workers0 = {w: cpu_seconds(w) for w in worker_pids(pid)}
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu, own_cpu = cpu_seconds(pid) - server_cpu0, time.process_time() - own_cpu0
        db_cpu = postgres_cpu_seconds() - db_cpu0  # the ingest's COPY included
        workers_cpu = sorted(cpu_seconds(w) - cpu0 for w, cpu0 in workers0.items())  # over the run, as the total
        ingest_rc = ingest.wait(timeout=600) if ingest is not None else None
        ingest_cpu = _children_cpu() - children0  # the ingest process, reaped by now
    served = sum(len(v) for k, v in tally.ms.items() if k != "healthz")
    errors = sum(tally.errors.values())
    out = {"label": label, "workers": workers, "rps": served / elapsed, "errors": errors, "requests": served,
           "conflicts": tally.conflicts, "ingest_rc": ingest_rc, "server_cpu_ms": server_cpu * 1000 / max(served, 1)}
    print(f"{label}: {served:,} requests in {elapsed:.0f} s by {CLIENTS} clients, {workers} server process(es): "
          f"{served / elapsed:.0f} req/s; errors {errors}"
          f" (target 0: {'OK' if errors == 0 else 'MISSED'}); 409 conflicts {tally.conflicts}; "
          f"other 4xx {dict(tally.refused)}; feed ingest during the load exit {ingest_rc}")
    for kind, _w in [*MIX, ("healthz", 0)]:
        ms = tally.ms.get(kind, [])
        out[f"{kind}_p95"] = _pct(ms, 0.95)
        print(f"  {kind:10s} n={len(ms):6,d}  p50 {statistics.median(ms) if ms else float('nan'):7.1f} ms  "
              f"p95 {_pct(ms, 0.95):7.1f} ms")
    for what, n in sorted(tally.errors.items()):
        print(f"  error: {what} ×{n}")
    # On a shared machine wall time depends on the neighbours; CPU per request does much less.
    print(f"  CPU: server {server_cpu:.0f} s ({server_cpu / elapsed:.2f} cores, {out['server_cpu_ms']:.1f} ms per "
          f"request); load clients {own_cpu:.0f} s ({own_cpu / elapsed:.2f} cores) on {os.cpu_count()} cores; "
          f"PostgreSQL {db_cpu:.0f} s ({db_cpu * 1000 / max(served, 1):.1f} ms per request, the feed ingest's work "
          f"included; SQLite works inside the server); feed ingest {ingest_cpu:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    if len(workers_cpu) > 1:  # an uneven share means the clients' connections landed unevenly on the workers
        print(f"  CPU per server process: {', '.join(f'{c:.0f}' for c in workers_cpu)} s "
              f"(busiest / least busy {workers_cpu[-1] / max(workers_cpu[0], 1e-9):.2f})")
    if ended:  # how much of the tail the concurrent ingest makes
        during = [ms for t, k, ms in tally.timed if k == "inbox" and t <= ended[0]]
        after = [ms for t, k, ms in tally.timed if k == "inbox" and t > ended[0]]
        print(f"  the feed ingest took {ended[0] - started:.1f} s of the run: inbox p95 {_pct(during, 0.95):.1f} ms "
              f"while it ran (n={len(during):,}), {_pct(after, 0.95):.1f} ms after it (n={len(after):,})")
    h50 = statistics.median(tally.ms["healthz"]) if tally.ms["healthz"] else float("nan")
    i50 = statistics.median(tally.ms["inbox"]) if tally.ms["inbox"] else float("nan")
    print(f"  reference /healthz under the same load p50 {h50:.1f} ms → inbox / healthz = {i50 / h50:.1f}×")
    return out


def main() -> None:
    """Run the load on SQLite, then on PostgreSQL when DOUDI_BENCH_PG_URL (or the local test server) answers."""
    only = os.environ.get("DOUDI_BENCH_LOAD_ONLY", "")  # "sqlite" or "postgresql": one backend
    if only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            _backend("SQLite", f"sqlite:///{Path(tmp) / 'load.db'}", 1, Path(tmp) / "sqlite")
    if only == "sqlite":
        return
    pg = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        name = f"doudi_load_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here: the SQLite half still stands
        print(f"PostgreSQL: skipped ({exc.__class__.__name__})")
        return
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        with tempfile.TemporaryDirectory() as tmp:
            r = _backend("PostgreSQL", url, 4, Path(tmp) / "pg")
        ok = r["rps"] >= 3 * 63 and r["inbox_p95"] <= 150 and r["case_p95"] <= 150
        print(f"  PostgreSQL targets: ≥ 189 req/s and inbox, case p95 ≤ 150 ms: {'OK' if ok else 'MISSED'} "
              f"({r['rps']:.0f} req/s, {r['rps'] / 63:.1f}× the 63 req/s measured before; inbox p95 "
              f"{r['inbox_p95']:.0f} ms, case p95 {r['case_p95']:.0f} ms)")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
