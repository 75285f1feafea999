"""`doudi import facts` of a large county: 1M persons with 6 months of income and their assets, from Parquet.

Set-up (not timed): a registry of DOUDI_BENCH_IMPORT_PERSONS persons (default 1,000,000) in households of
2-3, written straight through db.frames; income.parquet (every person × 6 months, 1 % of rows with a bad
month, to be quarantined) and assets.parquet (about one holding per two persons, properties with
certificate numbers). Timed: the two imports (read, validate, look up, quarantine, write), each in one
transaction as the command runs them. Reference measured in the same run: a plain Polars read of the same
two files. CPU is reported beside the wall time (the machine may be shared): this process (every thread) plus
the PostgreSQL backend serving the import (read from /proc when the server is local). Target from the issue:
both imports together in ≤ 60 s on PostgreSQL, 2 cores.
PostgreSQL: DOUDI_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/test; a scratch database is
created and dropped). Run: `python -m bench import`.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from testkit.persons import population

TARGET_S = 60.0
VILLAGE = "370784001001"
MONTHS = [date(2026, m, 1) for m in range(5, 11)]


def make_files(out: Path, persons: int) -> pl.DataFrame:
    """The registry frame (household_no, id_number, birth_date, sex, name) and the two fact files."""
    rng = np.random.default_rng(19)
    people = population(persons, seed=19).select("id_number", "name", "birth_date", "sex")
    hh = np.cumsum(rng.random(persons) < 0.42)  # a new household every ~2.4 persons
    people = people.with_columns(household_no=pl.format("B{}", pl.Series(hh).cast(pl.Utf8).str.zfill(9)))
    n = persons * len(MONTHS)
    idx = np.repeat(np.arange(persons), len(MONTHS))
    month = np.tile(np.array([m.strftime("%Y-%m") for m in MONTHS]), persons)
    bad = rng.random(n) < 0.01
    income = people[idx].select("household_no", "id_number").with_columns(
        kind=pl.Series(np.array(["wage", "business", "transfer", "basic_pension"])[rng.integers(0, 4, n)]),
        month=pl.Series(np.where(bad, "2026-13", month)),
        amount=pl.Series(np.round(rng.gamma(2.0, 600.0, n), 0)),
    )
    income.write_parquet(out / "income.parquet")
    holders = np.sort(rng.choice(persons, persons // 2, replace=False))
    m = holders.size
    kinds = np.array(["financial", "residential_property", "vehicle"])[rng.choice(3, m, p=[0.6, 0.3, 0.1])]
    assets = people[holders].select("household_no", "id_number").with_columns(
        kind=pl.Series(kinds), quantity=pl.lit(1, pl.Int64), value=pl.Series(np.round(rng.gamma(2, 20000, m), -2)),
        description=pl.lit("存款"), exempt=pl.lit(False), as_of=pl.lit(date(2026, 10, 31)),
        certificate_no=pl.when(pl.Series(kinds) == "residential_property")
        .then(pl.format("鲁(2020)安丘市不动产权第{}号", pl.int_range(pl.len()).cast(pl.Utf8).str.zfill(8))),
    )
    assets.write_parquet(out / "assets.parquet")
    return people


def _registry(session: Any, people: pl.DataFrame) -> None:
    from doudi.areas.service import AreaRow, upsert_areas
    from doudi.db.frames import write_frame
    from doudi.registry.models import Household, Membership, Person

    upsert_areas(session, rows=[AreaRow("370784001", "新安街道", True, "synthetic"),
                                AreaRow(VILLAGE, "东村社区", True, "synthetic")])
    numbers = people["household_no"].unique(maintain_order=True)
    hh = write_frame(session, Household, pl.DataFrame({"household_no": numbers}).with_columns(
        area_code=pl.lit(VILLAGE), hukou_type=pl.lit("rural")), returning=["id", "household_no"]).returned
    ps = write_frame(session, Person, people.select("id_number", "name", "sex", "birth_date"),
                     returning=["id", "id_number"]).returned
    members = people.join(hh, on="household_no").join(ps.rename({"id": "person_id"}), on="id_number")
    first = pl.col("person_id") == pl.col("person_id").min().over("id")
    write_frame(session, Membership, members.select(
        household_id="id", person_id="person_id",
        relation=pl.when(first).then(pl.lit("head")).otherwise(pl.lit("child")),
        valid_from="birth_date", valid_from_known=pl.lit(False)))


def _server_cpu(session: Any, sa: Any) -> Any:
    """A function giving the CPU seconds the session's PostgreSQL backend used since now (None: not measurable,
    e.g. SQLite, which runs in this process, or a server on another machine)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    stat = Path(f"/proc/{session.execute(sa.text('SELECT pg_backend_pid()')).scalar()}/stat")
    if not stat.exists():
        return None

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    start = used()
    return lambda: used() - start


def _backend(label: str, url: str, tmp: Path, people: pl.DataFrame, ref: float) -> dict[str, Any]:
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.db.engine import make_engine, session_scope
    from doudi.registry.facts_import import import_facts

    engine = make_engine(url)
    init_database(engine)
    import sqlalchemy as sa

    t0 = time.perf_counter()
    with session_scope(engine) as session:
        _registry(session, people)
    setup = time.perf_counter() - t0
    out: dict[str, Any] = {"registry_setup_s": round(setup, 1)}
    total = 0.0
    cpu_total = 0.0
    for kind in ("income", "assets"):
        t0, c0 = time.perf_counter(), time.process_time()
        with session_scope(engine) as session:
            server = _server_cpu(session, sa)
            result = import_facts(session, actor=system_actor(name="bench"), kind=kind, path=tmp / f"{kind}.parquet")
        took, client = time.perf_counter() - t0, time.process_time() - c0
        server_s = server() if server else None
        cpu = client + (server_s or 0.0)
        total += took
        cpu_total += cpu
        out[kind] = {"rows": result.rows_total, "imported": result.rows_ok, "quarantined": result.rows_rejected,
                     "seconds": round(took, 1), "rows_per_s": round(result.rows_total / took),
                     "cpu_client_s": round(client, 1), "cpu_server_s": None if server_s is None else round(server_s, 1)}
    engine.dispose()
    out["total_s"] = round(total, 1)
    out["cpu_s"] = round(cpu_total, 1)
    out["ratio_to_polars_read"] = round(total / ref, 1)
    verdict = "OK" if total <= TARGET_S else "MISSED"
    out["target"] = f"≤ {TARGET_S:.0f} s: {verdict}"
    print(f"  {label:11} income {out['income']['seconds']} s ({out['income']['rows']:,} rows, "
          f"{out['income']['quarantined']:,} quarantined), assets {out['assets']['seconds']} s "
          f"({out['assets']['rows']:,} rows); total {total:.1f} s (CPU {cpu_total:.1f} s: this process"
          f"{' and its PostgreSQL backend' if label.startswith('Postgre') else ''}), {verdict} for ≤ {TARGET_S:.0f} s; "
          f"{total / ref:.0f}× the plain Polars read (registry set-up {setup:.1f} s, not timed)")
    return out


def run() -> dict[str, Any]:
    """Generate the county's files, time the Polars read, then the imports on SQLite and PostgreSQL."""
    persons = int(os.environ.get("DOUDI_BENCH_IMPORT_PERSONS", "1000000"))
    results: dict[str, Any] = {"persons": persons, "target_s": TARGET_S}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        people = make_files(tmp, persons)
        print(f"files for {persons:,} persons generated in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rows = sum(pl.read_parquet(tmp / f"{k}.parquet").height for k in ("income", "assets"))
        ref = time.perf_counter() - t0
        results["polars_read_s"] = round(ref, 2)
        results["rows"] = rows
        print(f"  reference: plain Polars read of both files {ref:.2f} s ({rows:,} rows)")
        pg = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        try:
            import sqlalchemy as sa

            admin = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
            name = f"doudi_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"  PostgreSQL: skipped ({exc.__class__.__name__})")
        else:
            try:
                url = admin.url.set(database=name).render_as_string(hide_password=False)
                results["postgresql"] = _backend("PostgreSQL:", url, tmp, people, ref)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        results["sqlite"] = _backend("SQLite:", f"sqlite:///{tmp / 'bench.db'}", tmp, people, ref)
    return results


if __name__ == "__main__":
    run()
