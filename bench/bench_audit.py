"""Audit append cost: entries per second through `audit.service.record` (HMAC, one `UPDATE … RETURNING` on the
head row), against the previous append (SHA-256; UPDATE, SELECT and refresh of the head, then the entry)
re-implemented here as the reference, on SQLite and (when reachable) PostgreSQL.

    python -m bench audit        # DOUDI_BENCH_AUDIT_ENTRIES (default 5,000), one transaction per entry

Each entry is its own transaction (commit included): what a request that changes one thing pays.
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
        _measure(admin.url.set(database=name).render_as_string(hide_password=False), "PostgreSQL")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
