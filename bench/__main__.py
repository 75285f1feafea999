"""Discover and run the benchmarks: every bench/bench_*.py exposing `run() -> dict` (or `main()` printing its own).

python -m bench            # all benchmarks
python -m bench synth      # only bench/bench_synth.py
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    """Names of the benchmark modules, sorted (bench_synth.py → 'synth')."""
    here = Path(__file__).parent
    return sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none is named); non-zero exit when one is unknown or fails."""
    names = argv or discover()
    unknown = [n for n in names if n not in discover()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(discover())}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            result = module.run() if hasattr(module, "run") else module.main()
        except Exception as exc:  # one failing benchmark must not hide the others' figures
            print(f"!! bench {name} failed: {exc!r}", file=sys.stderr)
            failed += 1
            continue
        if isinstance(result, dict):
            print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        print(f"== bench {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
