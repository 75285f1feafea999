"""Audit append cost: entries per second through `audit.service.record` (HMAC, one `UPDATE … RETURNING` on the
head row), against the previous append (SHA-256; UPDATE, SELECT and refresh of the head, then the entry)
re-implemented here as the reference, on SQLite and (when reachable) PostgreSQL.

    python -m bench audit        # DOUDI_BENCH_AUDIT_ENTRIES (default 5,000), one transaction per entry

Each entry is its own transaction (commit included): what a request that changes one thing pays.

Then, on PostgreSQL, whether the append caps write throughput: 1, 8 and 20 writer threads each run
DOUDI_BENCH_AUDIT_TXNS (default 3,000) transactions of a row update, an audit entry and a read, against the same
transactions without the entry (the reference, in the same run). The head row's lock is held from the append to
the commit, so appends are serialised; the target is that more writers never give fewer audited writes per
second than one (the lock does not cap throughput), printed beside the ratio to the unaudited reference. The
writers are threads of this process: both rates include its Python work.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

N = int(os.environ.get("DOUDI_BENCH_AUDIT_ENTRIES", "5000"))
TXNS = int(os.environ.get("DOUDI_BENCH_AUDIT_TXNS", "3000"))
WRITERS = (1, 8, 20)


def _legacy_append(s: Session, i: int) -> None:
    """The append as it was before the keyed chain: three statements on the head, then the entry."""
    from sqlalchemy import select, update

    from doudi.audit import service
    from doudi.audit.models import AuditEntry, AuditHead

    if s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)).rowcount == 0:  # type: ignore[attr-defined]
        s.add(AuditHead(id=1, seq=1, hash=service.GENESIS))
        s.flush()
    head = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    s.refresh(head)
    entry = AuditEntry(seq=head.seq, at=datetime.now(UTC), actor_id=None, actor="bench", ip="", action="bench.write",
                       object_type="thing", object_id=str(i), area_code="370784", outcome="ok",
                       changes={"x": [i, i + 1]}, prev_hash=head.hash)
    entry.hash = service.entry_hash(entry)
    head.hash = entry.hash
    s.add(entry)
    s.flush()


def _measure(url: str, label: str) -> None:
    from doudi.audit import service
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.db.engine import make_engine, session_scope

    engine = make_engine(url)
    init_database(engine)
    actor = system_actor(name="bench")
    service.configure_key("bench-audit-key")
    rates = {}
    for name in ("legacy", "keyed"):
        t0 = time.perf_counter()
        for i in range(N):
            with session_scope(engine) as session:
                if name == "keyed":
                    service.record(session, actor=actor, action="bench.write", object_type="thing", object_id=i,
                                   area_code="370784", before={"x": i}, after={"x": i + 1})
                else:
                    _legacy_append(session, i)
        rates[name] = N / (time.perf_counter() - t0)
        if name == "legacy":  # the keyed segment starts after a seal of the legacy one
            with session_scope(engine) as session:
                service.seal(session)
    with session_scope(engine) as session:
        report = service.verify_report(session)
    engine.dispose()
    ok = rates["keyed"] >= rates["legacy"] and not report.problems
    print(f"{label}: keyed append {rates['keyed']:,.0f} entries/s vs previous append {rates['legacy']:,.0f} "
          f"entries/s (reference) → {rates['keyed'] / rates['legacy']:.2f}×; {N:,} + {N:,} entries, one commit each; "
          f"verify: {report.entries:,} entries, sealed at {report.sealed_seq}, {len(report.problems)} problems "
          f"(target ≥ 1.0× and 0 problems: {'OK' if ok else 'MISSED'})")


def _writers(url: str) -> None:
    """Audited and plain write transactions per second with 1, 8 and 20 concurrent writers."""
    import threading

    from sqlalchemy import text

    from doudi.audit import service
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.db.engine import make_engine, session_scope

    engine = make_engine(url)
    init_database(engine)
    service.configure_key("bench-audit-key")
    actor = system_actor(name="bench")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_thing (id int PRIMARY KEY, n int NOT NULL)"))
        conn.execute(text("INSERT INTO bench_thing SELECT g, 0 FROM generate_series(1, 64) g"))

    def rate(writers: int, audited: bool) -> float:
        per = TXNS // writers

        def work(k: int) -> None:
            for i in range(per):
                with session_scope(engine) as s:
                    s.execute(text("UPDATE bench_thing SET n = n + 1 WHERE id = :id"), {"id": k + 1})
                    if audited:
                        service.record(s, actor=actor, action="bench.write", object_type="thing", object_id=k,
                                       area_code="370784", before={"n": i}, after={"n": i + 1})
                    s.execute(text("SELECT n FROM bench_thing WHERE id = :id"), {"id": k + 1})

        threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return per * writers / (time.perf_counter() - t0)

    audited: dict[int, float] = {}
    for writers in WRITERS:
        plain = rate(writers, False)
        audited[writers] = rate(writers, True)
        print(f"PostgreSQL, {writers:2} writers: {audited[writers]:,.0f} audited writes/s vs {plain:,.0f} without the "
              f"entry (reference) → {audited[writers] / plain:.2f}×")
    with session_scope(engine) as session:
        problems = len(service.verify(session))
    engine.dispose()
    ok = min(audited.values()) >= audited[1] * 0.95 and problems == 0  # 5%: run-to-run noise of this machine
    print(f"PostgreSQL: audited writes/s with {WRITERS[-1]} writers {audited[WRITERS[-1]] / audited[1]:.2f}× one "
          f"writer's; chain problems {problems} (target: no fewer writes/s with more writers, 0 problems: "
          f"{'OK' if ok else 'MISSED'})")


def main() -> None:
    """SQLite, then PostgreSQL when DOUDI_BENCH_PG_URL (or the local test server) answers."""
    with tempfile.TemporaryDirectory() as tmp:
        _measure(f"sqlite:///{Path(tmp) / 'audit.db'}", "SQLite")
    pg = os.environ.get("DOUDI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        name = f"doudi_audit_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here: the SQLite figure still stands
        print(f"PostgreSQL: skipped ({exc.__class__.__name__})")
        return
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        _measure(url, "PostgreSQL")
        _writers(url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
