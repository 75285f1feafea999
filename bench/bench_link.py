"""Link 1M × 1M synthetic persons (20% of IDs blanked or mistyped on both sides) and count candidate pairs.

Reference in the same run: a plain DuckDB exact-ID join of the same frames (what linking costs without any
probabilistic matching). Size: DOUDI_BENCH_LINK_N (default 1,000,000). Run: `python -m bench.bench_link`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import duckdb

from testkit.persons import Noise, link_pair


def run() -> dict[str, Any]:
    """Generate, link, and print time, candidates and quality."""
    from doudi.verification.linkage.engine import link_frames

    n = int(os.environ.get("DOUDI_BENCH_LINK_N", "1000000"))
    t0 = time.perf_counter()
    left, right, truth = link_pair(n, noise=Noise(), left_noise=Noise(), seed=41)
    gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.register("l", left.to_arrow())
    con.register("r", right.to_arrow())
    exact = con.execute("SELECT count(*) FROM l JOIN r USING (id_number)").fetchall()[0][0]
    ref = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = link_frames(left, right)
    took = time.perf_counter() - t0
    found = set(zip(res.accepted["left_id"], res.accepted["right_id"], strict=True))
    tp = len(found & truth)
    p, r = tp / max(len(found), 1), tp / len(truth)
    f1 = 2 * p * r / (p + r)
    print(f"link {n:,} × {n:,} persons (20% IDs blanked/mistyped on each side), generated in {gen:.1f} s")
    print(f"  time {took:.1f} s  ({', '.join(f'{k} {v:.1f}s' for k, v in res.timings.items())})")
    print(f"  candidate comparisons {res.candidates:,}; accepted {res.accepted.height:,}; review {res.review.height:,}")
    print(f"  precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")
    print(f"  reference: exact-ID DuckDB join ({exact:,} pairs) {ref:.2f} s; ratio {took / max(ref, 1e-9):.1f}×")
    return {"n": n, "seconds": took, "candidates": res.candidates, "f1": f1, "reference_seconds": ref}


if __name__ == "__main__":
    run()
