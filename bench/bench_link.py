"""Link 1M × 1M synthetic persons (20% of IDs blanked or mistyped on both sides), cold and warm.

Cold: the model is trained on the inputs (u by random sampling, m from the pairs an equal valid ID proves, the ID
comparison by expectation maximisation) and then scores them. Warm: the model stored by the cold run is reused,
as a source's stored model is at ingest. Both are timed end to end (prepare, train or load, predict, assign),
in memory with DuckDB and Polars on this machine's cores, against a plain DuckDB exact-ID join of the same frames
measured in the same run (the reference: what linking costs without any probabilistic matching).

Targets on 2 cores: warm ≤ 20 s, cold ≤ 35 s, candidate comparisons ≤ 10M. Size: DOUDI_BENCH_LINK_N (default
1,000,000). Run: `python -m bench link`.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any

import duckdb

from testkit.persons import Noise, link_pair

TARGETS = {"warm": 20.0, "cold": 35.0}
MAX_CANDIDATES = 10_000_000


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def run() -> dict[str, Any]:
    """Generate, link cold and warm, and print times, candidates, quality and the targets."""
    from doudi.verification.linkage.engine import link_frames

    n = int(os.environ.get("DOUDI_BENCH_LINK_N", "1000000"))
    scale = n / 1_000_000
    t0 = time.perf_counter()
    left, right, truth = link_pair(n, noise=Noise(), left_noise=Noise(), seed=41)
    gen = time.perf_counter() - t0
    print(f"link {n:,} × {n:,} persons (20% IDs blanked/mistyped on each side), generated in {gen:.1f} s; "
          f"in memory (DuckDB + Polars), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.register("l", left.to_arrow())
    con.register("r", right.to_arrow())
    exact = con.execute("SELECT count(*) FROM l JOIN r USING (id_number)").fetchall()[0][0]
    ref = time.perf_counter() - t0
    print(f"  reference: exact-ID DuckDB join ({exact:,} pairs) {ref:.2f} s")

    out: dict[str, Any] = {"n": n, "reference_seconds": ref}
    model = None
    for run_kind in ("cold", "warm"):
        c0, t0 = _cpu(), time.perf_counter()
        res = link_frames(left, right, train=True) if model is None else link_frames(left, right, model=model)
        took, cpu = time.perf_counter() - t0, _cpu() - c0
        model = res.model
        found = set(zip(res.accepted["left_id"], res.accepted["right_id"], strict=True))
        tp = len(found & truth)
        p, r = tp / max(len(found), 1), tp / len(truth)
        f1 = 2 * p * r / (p + r)
        target = TARGETS[run_kind] * scale
        phases = ", ".join(f"{k} {v:.1f}s (CPU {res.cpu.get(k, 0.0):.1f}s)" for k, v in res.timings.items())
        print(f"  {run_kind}: {took:.1f} s (process CPU {cpu:.1f} s; {phases}); target ≤ {target:.1f} s: "
              f"{'OK' if took <= target else 'MISSED'}; ratio to the exact-ID join {took / max(ref, 1e-9):.1f}×")
        print(f"    candidate comparisons {res.candidates:,} (≤ {MAX_CANDIDATES * scale:,.0f}: "
              f"{'OK' if res.candidates <= MAX_CANDIDATES * scale else 'MISSED'}); accepted {res.accepted.height:,}; "
              f"review {res.review.height:,}; possible double registrations {res.double.height:,}")
        print(f"    precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")
        out[run_kind] = {"seconds": took, "cpu_seconds": cpu, "timings": res.timings, "candidates": res.candidates,
                         "f1": f1}
    return out


if __name__ == "__main__":
    run()
