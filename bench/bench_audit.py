"""Audit append cost and whether it caps write throughput: `audit.service.record` (an entry numbered from a
sequence and signed on its own, no lock; a sealer signs batches) against the previous append (every append took
the head row's lock, held to the commit, and linked to its predecessor's HMAC), re-implemented here as the
reference and run in a database of its own, on SQLite and (when reachable) PostgreSQL.

    python -m bench audit        # DOUDI_BENCH_AUDIT_ENTRIES (default 5,000), one transaction per entry

Part 1: each entry is its own transaction (commit included), what a request that changes one thing pays.
Target ≥ 1.0× the previous append, and 0 problems when the log is verified after a sealing pass.

Part 2, PostgreSQL: 1, 8 and 20 writer processes share DOUDI_BENCH_AUDIT_TXNS (default 3,000) transactions of
a row update, an audit entry and a read, while a sealer thread seals every DOUDI_BENCH_AUDIT_SEAL_SECONDS (1) as
the server's does. References in the same run: the same transactions without the entry, and with the previous
(locked) append. Target: the append does not cap throughput: with 20 writers, audited writes/s are at least
0.9× what one writer's ratio to the unaudited transactions predicts (the entry costs its own work, and no
waiting on other writers); and every entry sealed, with 0 problems, at the end.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

N = int(os.environ.get("DOUDI_BENCH_AUDIT_ENTRIES", "5000"))
TXNS = int(os.environ.get("DOUDI_BENCH_AUDIT_TXNS", "3000"))
SEAL_EVERY = float(os.environ.get("DOUDI_BENCH_AUDIT_SEAL_SECONDS", "1"))
WRITERS = (1, 8, 20)


def _locked_append(s: Session, i: int) -> None:
    """The previous append: the head row's lock (to the commit), the entry linked to its predecessor's HMAC."""
    from sqlalchemy import insert, update

    from doudi.audit import service
    from doudi.audit.models import AuditEntry, AuditHead

    seq, prev = s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
                          .returning(AuditHead.seq, AuditHead.hash)).one()
    entry = AuditEntry(seq=seq, at=datetime.now(UTC), actor_id=None, actor="bench", ip="", action="bench.write",
                       object_type="thing", object_id=str(i), area_code="370784", outcome="ok",
                       changes={"x": [i, i + 1]}, prev_hash=prev)
    entry.hash = service.entry_mac(entry, service.audit_key())
    s.execute(insert(AuditEntry).values(seq=seq, at=entry.at, actor_id=None, actor="bench", ip="",
                                        action="bench.write", object_type="thing", object_id=str(i),
                                        area_code="370784", outcome="ok", changes=entry.changes, prev_hash=prev,
                                        hash=entry.hash))
    s.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))


def _new_append(s: Session, i: int) -> None:
    from doudi.audit import service
    from doudi.auth.permissions import system_actor

    service.record(s, actor=system_actor(name="bench"), action="bench.write", object_type="thing", object_id=i,
                   area_code="370784", before={"x": i}, after={"x": i + 1})


def _engine(url: str) -> Engine:
    from doudi.audit import service
    from doudi.bootstrap import init_database
    from doudi.db.engine import make_engine

    engine = make_engine(url)
    init_database(engine)
    service.configure_key("bench-audit-key")
    return engine


def _serial(engine: Engine, append: Callable[[Session, int], None]) -> float:
    from doudi.db.engine import session_scope

    t0 = time.perf_counter()
    for i in range(N):
        with session_scope(engine) as session:
            append(session, i)
    return N / (time.perf_counter() - t0)


def _measure(url: str, reference_url: str, label: str) -> None:
    from doudi.audit import service
    from doudi.db.engine import session_scope

    engine, reference = _engine(url), _engine(reference_url)
    old, new = _serial(reference, _locked_append), _serial(engine, _new_append)
    t0 = time.perf_counter()
    with session_scope(engine) as session:
        sealed = service.seal(session)
    seal_s = time.perf_counter() - t0
    with session_scope(engine) as session:
        report = service.verify_report(session)
    engine.dispose()
    reference.dispose()
    ok = new >= old and not report.problems and report.unsealed == 0
    print(f"{label}: append {new:,.0f} entries/s vs the previous (locked, linked) append {old:,.0f} entries/s "
          f"(reference) → {new / old:.2f}×; {N:,} entries each, one commit each; sealing them: {sealed.entries:,} "
          f"entries in {sealed.batches} batch(es), {seal_s * 1000:.0f} ms; verify: {report.entries:,} entries, "
          f"{report.seals} seals, {len(report.problems)} problems (target ≥ 1.0× and 0 problems: "
          f"{'OK' if ok else 'MISSED'})")


def _work(url: str, writers: int, k: int, kind: str, start: Any, done: Any) -> None:
    """One writer process: its share of the transactions, after every writer is ready."""
    from sqlalchemy import text

    from doudi.audit import service
    from doudi.db.engine import make_engine, session_scope

    service.configure_key("bench-audit-key")
    engine = make_engine(url)
    append = {"audited": _new_append, "locked": _locked_append}.get(kind)
    with engine.connect():
        pass  # connected before the clock starts
    start.wait()
    for i in range(TXNS // writers):
        with session_scope(engine) as s:
            s.execute(text("UPDATE bench_thing SET n = n + 1 WHERE id = :id"), {"id": k + 1})
            if append is not None:
                append(s, i)
            s.execute(text("SELECT n FROM bench_thing WHERE id = :id"), {"id": k + 1})
    engine.dispose()
    done.put(k)


def _rate(url: str, writers: int, kind: str) -> float:
    """Transactions per second of `writers` processes (not threads: the head lock's cost is not hidden behind
    one interpreter lock), each with its own connection."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [ctx.Process(target=_work, args=(url, writers, k, kind, start, done)) for k in range(writers)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for _ in procs:
        done.get(timeout=600)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return (TXNS // writers) * writers / elapsed


def _writers(url: str, reference_url: str) -> None:
    """Audited, locked-reference and plain write transactions per second with 1, 8 and 20 concurrent writers."""
    from sqlalchemy import text

    from doudi.audit import service
    from doudi.audit.sealer import seal_once
    from doudi.db.engine import session_scope

    engine, reference = _engine(url), _engine(reference_url)
    for e in (engine, reference):
        with e.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_thing (id int PRIMARY KEY, n int NOT NULL)"))
            conn.execute(text("INSERT INTO bench_thing SELECT g, 0 FROM generate_series(1, 64) g "
                              "ON CONFLICT DO NOTHING"))
    stop = threading.Event()
    passes: list[int] = []

    def sealer() -> None:
        while not stop.wait(SEAL_EVERY):
            passes.append(seal_once(engine))

    seal_thread = threading.Thread(target=sealer)
    seal_thread.start()
    audited: dict[int, float] = {}
    plain: dict[int, float] = {}
    try:
        for writers in WRITERS:
            plain[writers] = _rate(url, writers, "plain")
            audited[writers] = _rate(url, writers, "audited")
            locked = _rate(reference_url, writers, "locked")
            print(f"PostgreSQL, {writers:2} writers: {audited[writers]:,.0f} audited writes/s; references: "
                  f"{plain[writers]:,.0f} without the entry → {audited[writers] / plain[writers]:.2f}×, "
                  f"{locked:,.0f} with the previous locked append → {audited[writers] / locked:.2f}×")
    finally:
        stop.set()
        seal_thread.join()
    with session_scope(engine) as session:
        service.seal(session)
        report = service.verify_report(session)
    engine.dispose()
    reference.dispose()
    top = WRITERS[-1]
    ratio = (audited[top] / plain[top]) / (audited[1] / plain[1])
    ok = ratio >= 0.9 and not report.problems and report.unsealed == 0
    print(f"PostgreSQL: with {top} writers the audited/unaudited ratio is {ratio:.2f}× one writer's; sealer passes "
          f"{len(passes)} ({sum(passes):,} entries sealed while writing); at the end {report.entries:,} entries in "
          f"{report.seals} seals, {report.unsealed} unsealed, {len(report.problems)} problems "
          f"(target ≥ 0.9×, all sealed, 0 problems: {'OK' if ok else 'MISSED'})")


def main() -> None:
    """SQLite, then PostgreSQL when DOUDI_BENCH_PG_URL (or the local test server) answers."""
    with tempfile.TemporaryDirectory() as tmp:
        _measure(f"sqlite:///{Path(tmp) / 'audit.db'}", f"sqlite:///{Path(tmp) / 'reference.db'}", "SQLite")
    pg = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        names = [f"doudi_audit_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here: the SQLite figure still stands
        print(f"PostgreSQL: skipped ({exc.__class__.__name__})")
        return
    try:
        url, ref = (admin.url.set(database=n).render_as_string(hide_password=False) for n in names)
        _measure(url, ref, "PostgreSQL")
        _writers(url, ref)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
