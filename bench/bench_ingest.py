"""Ingest a 10M-row tax feed into SQLite and (when reachable) PostgreSQL; rows per second.

References in the same run: Polars parsing the same CSV without validating or writing anything, and per
backend a plain load of the same file into a bare text table (PostgreSQL COPY of the raw bytes; SQLite
executemany of the parsed rows) — what the database alone costs.
Size: DOUDI_BENCH_INGEST_ROWS (default 10,000,000). PostgreSQL: DOUDI_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/test; a scratch database is created and dropped).
Run: `python -m bench.bench_ingest`.
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

from testkit.persons import population

TARGET = 200_000  # rows/s on 2 cores, from the verification issue


def make_feed(path: Path, rows: int, *, persons: int = 500_000) -> None:
    """A tax feed: persons × months, 10% of rows with a blanked ID, 1% with a bad month (to be quarantined)."""
    rng = np.random.default_rng(5)
    people = population(persons, seed=3)
    pick = rng.integers(0, persons, rows)
    months = np.array([f"2025-{m:02d}" for m in range(1, 13)])
    frame = people[pick].select(
        pl.format("T{}", pl.int_range(pl.len())).alias("record_id"), "id_number", "name",
        pl.col("birth_date").cast(pl.Utf8), "sex", "address",
    ).with_columns(
        pl.Series("month", months[rng.integers(0, 12, rows)]),
        pl.Series("income_kind", np.array(["wage", "business", "property"])[rng.integers(0, 3, rows)]),
        pl.Series("amount", np.round(rng.gamma(2.0, 1500.0, rows), 2)),
        pl.lit("某某有限公司").alias("payer"),
    )
    u = rng.random(rows)
    frame = frame.with_columns(
        pl.when(pl.Series(u < 0.10)).then(None).otherwise(pl.col("id_number")).alias("id_number"),
        pl.when(pl.Series(u > 0.99)).then(pl.lit("2025-13")).otherwise(pl.col("month")).alias("month"),
    )
    frame.write_csv(path)


def _ingest(url: str, path: Path) -> tuple[float, int]:
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.core import storage
    from doudi.db.engine import make_engine, session_scope
    from doudi.verification.ingest import ingest_file

    engine = make_engine(url)
    init_database(engine)
    storage.configure(path.parent / f"data-{uuid.uuid4().hex[:8]}")  # payload files beside the feed, removed with it
    t0 = time.perf_counter()
    with session_scope(engine) as session:
        out = ingest_file(session, actor=system_actor(), source_key="tax", path=path, chunk_rows=500_000,
                          national=True)
    took = time.perf_counter() - t0
    engine.dispose()
    return took, out.batch.rows_total


def _plain_load(url: str, path: Path) -> float:
    """Reference: the same file into a bare table of text columns, no validation, typing, index or payload.

    PostgreSQL: the file's bytes straight into COPY. SQLite: Polars parses, executemany inserts.
    """
    import sqlalchemy as sa

    from doudi.db.engine import make_engine

    engine = make_engine(url)
    header = path.open(encoding="utf-8").readline().strip().split(",")
    cols = ", ".join(f"{c} TEXT" for c in header)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE bench_plain ({cols})"))
        raw: Any = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy("COPY bench_plain FROM STDIN WITH (FORMAT csv, HEADER)") as cp, \
                    path.open("rb") as fh:
                while block := fh.read(1 << 22):
                    cp.write(block)
        else:
            sql = f"INSERT INTO bench_plain VALUES ({', '.join('?' for _ in header)})"
            for frame in pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=500_000):
                raw.executemany(sql, zip(*(frame.get_column(c).to_list() for c in header), strict=True))
    took = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_plain"))
    engine.dispose()
    return took


def _backend(label: str, url: str, path: Path, ref: float, results: dict[str, Any], key: str) -> None:
    took, n = _ingest(url, path)
    plain = _plain_load(url, path)
    results[f"{key}_rows_per_s"] = n / took
    results[f"{key}_plain_load_rows_per_s"] = n / plain
    verdict = "meets" if n / took >= TARGET else "MISSES"
    print(f"  {label:11} {n / took:,.0f} rows/s ({took:.1f} s; {verdict} the {TARGET:,} rows/s target); "
          f"{took / ref:.1f}× the Polars parse; plain load of the same file {n / plain:,.0f} rows/s "
          f"({plain:.1f} s), ingest/plain {took / plain:.2f}×")


def run() -> dict[str, Any]:
    """Generate the feed, time the reference parse, then each backend's ingest and a plain load of the file."""
    rows = int(os.environ.get("DOUDI_BENCH_INGEST_ROWS", "10000000"))
    results: dict[str, Any] = {"rows": rows, "target_rows_per_s": TARGET}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tax.csv"
        t0 = time.perf_counter()
        make_feed(path, rows)
        size = path.stat().st_size / 1e6
        print(f"feed of {rows:,} rows ({size:,.0f} MB) generated in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        pl.read_csv(path, infer_schema=False)
        ref = time.perf_counter() - t0
        results["polars_parse_rows_per_s"] = rows / ref
        print(f"  reference: Polars parse only {rows / ref:,.0f} rows/s ({ref:.1f} s)")
        _backend("SQLite:", f"sqlite:///{Path(tmp) / 'bench.db'}", path, ref, results, "sqlite")
        pg = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        try:
            import sqlalchemy as sa

            admin = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
            name = f"doudi_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"  PostgreSQL: skipped ({exc.__class__.__name__})")
            return results
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            _backend("PostgreSQL:", url, path, ref, results, "postgresql")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return results


if __name__ == "__main__":
    run()
