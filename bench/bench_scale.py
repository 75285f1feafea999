"""Growth curve: the assessment at 100k, 1M and 10M households, on Polars (chunked) and on Spark local mode.

    python -m bench scale
    DOUDI_BENCH_SCALE_SIZES=100000,1000000 python -m bench scale      # smaller sizes
    DOUDI_BENCH_SCALE_ENGINES=polars python -m bench scale            # one engine
    DOUDI_BENCH_SCALE_DIR=/data/scale python -m bench scale           # keep the snapshots there and reuse them

Input: a synthetic Parquet snapshot (testkit.population, written a million households at a time), all
eight programs on 2025-06-01; output: Parquet decisions (no database). Each engine runs in a fresh process,
with the allocator setting `doudi assess` makes (doudi.core.allocator);
time is from reading the snapshot to the last decision written; CPU time is that of the process and its
children (Spark's JVM and Python workers) over the same span, and peak memory the largest sum of their RSS,
both sampled every 0.1 s (a shared machine inflates wall time, not CPU time).
Targets (2 cores): 10M households in ≤ 40 s on Polars, with memory bounded by chunks; Spark local mode
within 3× of Polars at 10M. Reference in the same run: the Polars time per million at the smallest size.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from doudi.core import allocator

ON = date(2025, 6, 1)
GEN_CHUNK = 1_000_000


def _write_snapshot(n: int, directory: Path) -> None:
    """`n` synthetic households, appended a million at a time (ids stay unique and sorted).

    One million households are generated and repeated with new household and person ids: the rules' cost
    per household is the same, and a 10M snapshot is written in minutes instead of half an hour.
    """
    import pyarrow.parquet as pq

    from doudi.policy.frames import conform
    from testkit.population import generate

    directory.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    person_base = 0
    try:
        import polars as pl

        base = conform(generate(min(GEN_CHUNK, n), seed=7, on=ON))
        for start in range(0, n, GEN_CHUNK):
            size = min(GEN_CHUNK, n - start)
            frames = base if size == base.households.height else conform(generate(size, seed=7, on=ON))
            hh = frames.households.with_columns(pl.col("household_id") + start)
            mem = frames.members.with_columns(pl.col("household_id") + start, pl.col("person_id") + person_base)
            person_base += mem.height
            for name, df in (("households", hh), ("members", mem)):
                table = df.to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(directory / f"{name}.parquet", table.schema)
                writers[name].write_table(table, row_group_size=250_000)
    finally:
        for w in writers.values():
            w.close()


def _peak_sampler() -> tuple[threading.Event, list[float], dict[int, float]]:
    """Sample this process tree's total RSS (MiB) and each process's CPU seconds until the event is set."""
    import psutil

    stop, peak, cpu = threading.Event(), [0.0], {}
    me = psutil.Process()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just ended
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    return stop, peak, cpu


def _child(engine: str, snapshot: Path, out: Path) -> None:
    stop, peak, cpu = _peak_sampler()
    extra: dict[str, Any] = {}
    cpu0 = time.process_time()
    if engine == "polars":
        from doudi.scale.chunked import assess_chunked

        t0 = time.perf_counter()
        r = assess_chunked(snapshot, on=ON, out=out)
        seconds, households = time.perf_counter() - t0, r.households
    else:
        from doudi.scale.assess import assess
        from doudi.scale.session import spark_session

        t0 = time.perf_counter()
        spark = spark_session("local[2]", app="doudi-bench")
        extra["startup_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sr = assess(spark, snapshot=snapshot, on=ON, out=out)
        seconds, households = time.perf_counter() - t0, sr.households
        extra["partitions"] = sr.partitions
        extra["layout"] = "sorted slices, no shuffle" if sr.sliced else "cogrouped by hash"
        extra["per_task"] = -(-sr.households // sr.partitions)  # a task's memory follows its households
        spark.stop()
    time.sleep(0.2)  # one more sample
    stop.set()
    me = os.getpid()
    cpu_s = (time.process_time() - cpu0) + sum(c for pid, c in cpu.items() if pid != me)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "households": households, "peak_mib": peak[0], **extra}))


def _run(engine: str, snapshot: Path, out: Path) -> dict[str, Any]:
    root = Path(__file__).parent.parent  # this checkout's sources first, not whichever copy is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)]),
           allocator.VARIABLE: allocator.BATCH_CONF}  # as `doudi assess` runs (doudi.core.allocator)
    done = subprocess.run([sys.executable, "-m", "bench.bench_scale", "--child", engine, str(snapshot), str(out)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _bound(peaks: list[float]) -> str:
    """Whether memory stops growing: the largest size within 1.25× (+256 MiB) of the size before it (a size
    smaller than one chunk needs less, so the first size alone says nothing)."""
    if len(peaks) < 2:
        return "one size only"
    return "bounded" if peaks[-1] <= 1.25 * peaks[-2] + 256 else "grows with the input"


def main() -> None:
    """Run every size on every engine and print the curve, the targets and the linearity check."""
    sizes = [int(s) for s in os.environ.get("DOUDI_BENCH_SCALE_SIZES", "100000,1000000,10000000").split(",")]
    engines = os.environ.get("DOUDI_BENCH_SCALE_ENGINES", "polars,spark").split(",")
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    keep = os.environ.get("DOUDI_BENCH_SCALE_DIR")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="doudi-scale-") as tmp:
            snapshot = Path(keep) / f"snapshot-{n}" if keep else Path(tmp) / "snapshot"
            if not (snapshot / "complete").exists():
                t0 = time.perf_counter()
                _write_snapshot(n, snapshot)
                (snapshot / "complete").touch()
                os.sync()  # flushed before the timed runs, which would otherwise share the cores with its write-back
                print(f"{n:>11,} households: snapshot written in {time.perf_counter() - t0:.1f} s", flush=True)
            else:
                print(f"{n:>11,} households: snapshot reused from {snapshot}", flush=True)
            for engine in engines:
                r = rows[(engine, n)] = _run(engine, snapshot, Path(tmp) / f"out-{engine}")
                extra = (f", Spark start {r['startup_s']:.1f} s, {r['partitions']} partitions of "
                         f"{r['per_task']:,} households ({r['layout']})"
                         if engine == "spark" else "")
                print(f"  {engine:<7} {r['seconds']:8.1f} s (cpu {r['cpu_s']:7.1f} s)  "
                      f"{r['seconds'] / n * 1e6:6.2f} s per million  peak {r['peak_mib']:7.0f} MiB{extra}", flush=True)
    for engine in engines:
        per = [(n, rows[(engine, n)]["seconds"] / n * 1e6) for n in sizes if (engine, n) in rows]
        base = per[0][1]
        growth = ", ".join(f"{n:,}: {p / base:.2f}×" for n, p in per)
        worst = max(p / base for _, p in per)
        print(f"{engine}: cost per household relative to {per[0][0]:,} households — {growth} → "
              f"{'linear (within 1.5×)' if worst <= 1.5 else 'grows faster than linear at the larger sizes'}")
        cpu = [(n, rows[(engine, n)]["cpu_s"] / n * 1e6) for n in sizes if (engine, n) in rows]
        print(f"{engine}: CPU seconds per million households — "
              + ", ".join(f"{n:,}: {c:.1f}" for n, c in cpu))
        peaks = [rows[(engine, n)]["peak_mib"] for n in sizes if (engine, n) in rows]
        per_task = ""
        if engine == "spark":  # its memory follows a task's households, which grow up to 250,000 a task
            per_task = "; households per task " + " → ".join(
                f"{rows[(engine, n)]['per_task']:,}" for n in sizes if (engine, n) in rows)
        print(f"{engine}: peak memory {' → '.join(f'{p:.0f}' for p in peaks)} MiB "
              f"({_bound(peaks)}{per_task})")
    big = max(sizes)
    if ("polars", big) in rows:
        s = rows[("polars", big)]["seconds"]
        target = 40 * big / 10_000_000
        c = rows[("polars", big)]["cpu_s"]
        print(f"target: {big:,} households on Polars ≤ {target:.1f} s (40 s per 10M): "
              f"{'OK' if s <= target else 'MISSED'} ({s:.1f} s; CPU {c:.1f} s, {c / 2:.1f} s if both cores were ours)")
    if ("polars", big) in rows and ("spark", big) in rows:
        ratio = rows[("spark", big)]["seconds"] / rows[("polars", big)]["seconds"]
        print(f"target: Spark local within 3× of Polars at {big:,}: {'OK' if ratio <= 3 else 'MISSED'} ({ratio:.1f}×)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
