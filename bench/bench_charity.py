"""Charity matching at county scale on PostgreSQL: 100,000 open needs against 1,000 partners, ranked by kind,
area, capacity left and past response rate, capacity taken as matches are proposed — read from and written to
the database through `service.propose` (what a township worker waits for after pressing the button); the
in-memory matching of the same frames is reported beside it, and the client's CPU time (the database server's
own work is not in it). The machine is shared: the 1-minute load average is printed with the figures.

Reference, measured in the same run: a plain Polars join of the same need and partner frames on kind and area.
Target from issue 17: ≤ 2 s on 2 cores. Environment: DOUDI_BENCH_CHARITY_NEEDS (default 100000),
DOUDI_BENCH_CHARITY_PARTNERS (default 1000), DOUDI_BENCH_PG_URL (default: the local `test` server; a throw-away
database is created and dropped).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import create_engine, func, insert, select, text

from bench.areas import seed_areas
from doudi.auth.permissions import system_actor
from doudi.bootstrap import init_database
from doudi.charity import read, rules, service
from doudi.charity.models import Match, Need, Offer, Partner
from doudi.db.engine import make_engine, session_scope
from doudi.db.frames import write_frame
from doudi.registry.models import Household

TARGET_S = 2.0
ON = date(2026, 11, 2)
KINDS = [str(k) for k in Offer]


def _seed(url: str, needs: int, partners: int) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    init_database(engine)
    towns, villages = seed_areas(engine)
    ids = pl.int_range(1, needs + 1, eager=True)
    area = pl.Series(villages).gather(ids % len(villages))
    prows = []
    for i in range(partners):
        # A partner serves the county (1 in 10), a township (4 in 10) or a village; one or two offers;
        # capacity 50-149 per offer: enough overall, short where a kind is scarce nearby.
        where = "370784" if i % 10 == 0 else towns[i % len(towns)] if i % 2 == 0 else villages[(i * 7) % len(villages)]
        offers = list(dict.fromkeys([KINDS[i % 7], KINDS[(i // 7) % 7]]))
        prows.append({"id": i + 1, "key": f"p{i:04d}", "name": f"机构{i}", "kind": "charity", "area_code": where,
                      "offers": offers, "capacity": {k: 50 + i % 100 for k in offers}, "active": True, "contact": "",
                      "phone": "", "version": 1})
    with session_scope(engine) as s:
        write_frame(s, Household, pl.DataFrame({"id": ids, "household_no": "C" + ids.cast(pl.String).str.zfill(9),
                                                "area_code": area, "hukou_type": "rural"}))
        s.execute(insert(Partner), prows)
        write_frame(s, Need, pl.DataFrame({
            "id": ids, "household_id": ids, "area_code": area, "source": "gap",
            "kind": pl.Series(KINDS).gather(ids % 7), "amount_fen": (ids % 50 + 1) * 10_000,
            "status": "open", "raised_on": ON, "description": "", "size": "", "result": "", "raised_by": "bench",
            "version": 1}).with_columns(deadline=pl.lit(ON) + pl.duration(days=pl.col("id") % 60)))
    engine.dispose()
    return towns, villages


def run() -> dict[str, Any]:
    """Seed, time the matching run on the database, the reference join, and report."""
    needs = int(os.environ.get("DOUDI_BENCH_CHARITY_NEEDS", "100000"))
    partners = int(os.environ.get("DOUDI_BENCH_CHARITY_PARTNERS", "1000"))
    admin_url = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"doudi_bench_charity_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        t0 = time.perf_counter()
        _seed(url, needs, partners)
        seed_s = time.perf_counter() - t0
        engine = make_engine(url)
        actor = system_actor(name="bench")
        with session_scope(engine) as s:  # the frames the run reads, for the in-memory figures beside it
            need_frame, partner_frame = read.open_needs(s, area=""), read.partner_frame(s)
        c0, t0 = time.process_time(), time.perf_counter()
        pure = rules.match(need_frame, partner_frame)
        pure_s, pure_cpu = time.perf_counter() - t0, time.process_time() - c0
        t1 = time.perf_counter()
        ref = need_frame.with_columns(area=pl.col("area_code").str.slice(0, 9)).join(
            partner_frame.rename({"area_code": "area"}), on=["kind", "area"], how="inner")
        ref_s = time.perf_counter() - t1
        c0, t0 = time.process_time(), time.perf_counter()
        with session_scope(engine) as s:
            proposed = service.propose(s, actor=actor, today=ON)
        match_s, match_cpu = time.perf_counter() - t0, time.process_time() - c0
        with session_scope(engine) as s:
            written = s.scalar(select(func.count()).select_from(Match)) or 0
            over = s.execute(text(
                "select count(*) from (select m.partner_key, m.kind, count(*) n from charity_matches m "
                "group by m.partner_key, m.kind) t join charity_partners p on p.key = t.partner_key "
                "where t.n > cast(p.capacity ->> t.kind as integer)")).scalar()
        engine.dispose()
        return {
            "database": "PostgreSQL (local)",
            "input": f"{needs:,} open needs in 400 villages × {partners:,} partners (county, township, village)",
            "seed_s": round(seed_s, 1),
            "needs_proposed": proposed, "matches_written": written, "partners_over_capacity": over,
            "match_s": round(match_s, 2), "match_cpu_s_client": round(match_cpu, 2),
            "of_which_polars_matching_s": round(pure_s, 2), "polars_matching_cpu_s": round(pure_cpu, 2),
            "polars_matching_proposals": pure.height,
            "load_average_1min": round(os.getloadavg()[0], 1),
            "target": f"{'OK' if match_s <= TARGET_S else 'MISSED'} (≤ {TARGET_S:.0f} s)",
            "reference_polars_join_s": round(ref_s, 3), "reference_rows": ref.height,
            "ratio_vs_reference": round(match_s / ref_s, 1) if ref_s else None,
            "cores": os.cpu_count(),
        }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> dict[str, Any]:
    """The figures, for `python -m bench charity`."""
    return run()

