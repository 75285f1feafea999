"""Payments at county scale on PostgreSQL: a 1M-line roll generated from enrollments in the database, frozen,
and written as pain.001 files split at 10,000 transactions; then a 1M-row bank return reconciled.

Reference, measured in the same run: the plain Polars write of the same line rows to CSV (the least any
roll export can cost). Targets from issue 12: roll + files ≤ 60 s, reconciliation ≤ 30 s, on 2 cores.
Besides the wall time, each phase reports the CPU time of this process and of its PostgreSQL backend (read
from /proc when the server runs on this machine): on a shared machine the wall time measures the queue too.
Environment: DOUDI_BENCH_PAY_LINES (default 1000000), DOUDI_BENCH_PG_URL (default: the local `test`
server; a throw-away database is created and dropped).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import create_engine, select, text

from bench.areas import seed_areas
from doudi.auth.permissions import system_actor
from doudi.bootstrap import init_database
from doudi.cases.models import Enrollment
from doudi.db.engine import make_engine, session_scope
from doudi.db.frames import read_frame, write_frame
from doudi.payments import bank, reconcile, service
from doudi.payments.models import AccountStatus, PayeeAccount, PaymentLine
from doudi.registry.models import Household, Membership, Person

ROLL_TARGET_S = 60.0
RECONCILE_TARGET_S = 30.0
PER_FILE = 10_000


def _seed(url: str, n: int) -> None:
    engine = make_engine(url)
    init_database(engine)
    _, villages = seed_areas(engine)
    ids = pl.int_range(1, n + 1, eager=True)
    area = pl.Series(villages).gather(ids % len(villages))
    with session_scope(engine) as s:
        write_frame(s, Household, pl.DataFrame({"id": ids, "household_no": "B" + ids.cast(pl.String).str.zfill(9),
                                                "area_code": area, "hukou_type": "rural"}))
        write_frame(s, Person, pl.DataFrame({
            "id": ids, "id_number": "37078419" + ids.cast(pl.String).str.zfill(10),
            "name": "户主" + ids.cast(pl.String), "sex": "M", "birth_date": date(1960, 1, 1)}))
        write_frame(s, Membership, pl.DataFrame({"household_id": ids, "person_id": ids, "relation": "head",
                                                 "valid_from": date(2020, 1, 1)}))
        write_frame(s, Enrollment, pl.DataFrame({
            "household_id": ids, "area_code": area, "program": "dibao", "status": "active",
            "monthly_amount": (537 + ids % 500).cast(pl.Decimal(14, 2)), "start_month": date(2026, 1, 1)}))
        write_frame(s, PayeeAccount, pl.DataFrame({
            "payee_key": "H" + ids.cast(pl.String), "area_code": area, "holder_name": "户主" + ids.cast(pl.String),
            "bank_name": "安丘农村商业银行", "account_no": "62305" + ids.cast(pl.String).str.zfill(11),
            "status": AccountStatus.CONFIRMED.value}))
        s.execute(text("ANALYZE"))
    engine.dispose()


def _backend_cpu(session: Any) -> float | None:
    """CPU seconds used so far by the session's PostgreSQL backend process (None when not on this machine)."""
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phase:
    """Wall, process CPU and database-backend CPU of one phase, run in one session."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.db_cpu: float | None = 0.0

    def start(self, session: Any) -> None:
        self._w, self._c, self._b = time.perf_counter(), time.process_time(), _backend_cpu(session)

    def stop(self, session: Any) -> None:
        session.commit()  # the commit is part of what a user waits for
        b = _backend_cpu(session)
        self.wall, self.cpu = time.perf_counter() - self._w, time.process_time() - self._c
        self.db_cpu = None if b is None or self._b is None else b - self._b

    def figures(self, name: str) -> dict[str, float | None]:
        return {f"{name}_s": round(self.wall, 2), f"{name}_cpu_s": round(self.cpu, 2),
                f"{name}_db_cpu_s": None if self.db_cpu is None else round(self.db_cpu, 2)}


def run() -> dict[str, Any]:
    """Seed, then time roll + files and reconciliation against the Polars CSV reference."""
    n = int(os.environ.get("DOUDI_BENCH_PAY_LINES", "1000000"))
    admin_url = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"doudi_bench_pay_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        t0 = time.perf_counter()
        _seed(url, n)
        seed_s = time.perf_counter() - t0
        engine = make_engine(url)
        actor = system_actor(name="bench")
        out = Path(tempfile.mkdtemp(prefix="doudi-pay-"))
        gen, export, rec = Phase(), Phase(), Phase()
        with session_scope(engine) as s:
            gen.start(s)
            roll = service.generate_roll(s, actor=actor, county="370784", month=date(2026, 1, 1), program="dibao")
            roll_id, lines, total = roll.id, roll.line_count, roll.total_fen
            gen.stop(s)
        with session_scope(engine) as s:
            r = service.get_roll(s, actor=actor, roll_id=roll_id)
            service.approve_roll(s, actor=actor, roll_id=roll_id, version=r.version)
        with session_scope(engine) as s:
            export.start(s)
            files = bank.export_roll(s, actor=actor, roll_id=roll_id, fmt="pain001", max_per_file=PER_FILE)
            for f in files:
                (out / f.name).write_bytes(f.data)
            export.stop(s)
        roll_files_s = gen.wall + export.wall
        schema_errors = bank.validate_pain001((out / files[0].name).read_bytes())
        # Reference: the same line rows written by Polars to CSV.
        with session_scope(engine) as s:
            frame = read_frame(s, select(PaymentLine.end_to_end_id, PaymentLine.payee_name, PaymentLine.account_no,
                                         PaymentLine.bank_name, PaymentLine.amount_fen)
                               .where(PaymentLine.roll_id == roll_id))
        t2 = time.perf_counter()
        frame.write_csv(out / "reference.csv")
        ref_s = time.perf_counter() - t2
        # A return: every line answered, 1 in 100 rejected (account closed).
        ret = frame.select(pl.col("end_to_end_id").alias("流水号"),
                           (pl.col("amount_fen") / 100).round(2).cast(pl.String).alias("金额"))
        ret = ret.with_row_index("i").with_columns(
            状态=pl.when(pl.col("i") % 100 == 7).then(pl.lit("失败")).otherwise(pl.lit("成功")),
            原因代码=pl.when(pl.col("i") % 100 == 7).then(pl.lit("AC04")).otherwise(pl.lit(""))).drop("i")
        ret = ret.with_columns(pl.col("金额").str.replace(r"^(\d+)$", "$1.00").str.replace(r"\.(\d)$", ".${1}0"))
        data = ret.write_csv().encode()
        with session_scope(engine) as s:
            rec.start(s)
            result = reconcile.reconcile(s, actor=actor, filename="bench-return.csv", data=data)
            paid, failed, invalid = result.paid, result.failed, result.invalid
            rec.stop(s)
        rec_s = rec.wall
        engine.dispose()
        return {
            "database": "PostgreSQL (local)",
            "input": f"{n:,} 低保 enrollments with confirmed accounts in 400 villages",
            "seed_s": round(seed_s, 1),
            "roll_lines": lines, "roll_total_yuan": service.yuan(total),
            **gen.figures("roll_generate"), "pain001_files": len(files), **export.figures("pain001_write"),
            "roll_and_files_s": round(roll_files_s, 2),
            "roll_and_files_cpu_s": round(gen.cpu + export.cpu + (gen.db_cpu or 0) + (export.db_cpu or 0), 2),
            "roll_and_files_target": f"{'OK' if roll_files_s <= ROLL_TARGET_S else 'MISSED'} (≤ {ROLL_TARGET_S:.0f} s)",
            "pain001_schema_errors_first_file": len(schema_errors),
            "reconcile_rows": n, "reconcile_paid": paid, "reconcile_failed": failed, "reconcile_invalid": invalid,
            **rec.figures("reconcile"),
            "reconcile_cpu_total_s": round(rec.cpu + (rec.db_cpu or 0), 2),
            "reconcile_target": f"{'OK' if rec_s <= RECONCILE_TARGET_S else 'MISSED'} (≤ {RECONCILE_TARGET_S:.0f} s)",
            "reference_polars_csv_s": round(ref_s, 3),
            "ratio_roll_and_files_vs_reference": round(roll_files_s / ref_s, 1) if ref_s else None,
            "ratio_reconcile_vs_reference": round(rec_s / ref_s, 1) if ref_s else None,
        }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
