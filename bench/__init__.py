"""Benchmarks: `python -m bench` runs every bench_*.py; `python -m bench NAME` runs bench_NAME.py only."""
