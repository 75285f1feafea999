"""The server's sealer thread signs committed entries into batches on its own, and a last pass at shutdown seals
what was written just before."""

from __future__ import annotations

import time

from doudi.audit import service as audit
from doudi.audit.sealer import Sealer, seal_once
from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope


def _append(engine: object, n: int) -> None:
    with session_scope(engine) as s:  # type: ignore[arg-type]
        for i in range(n):
            audit.record(s, actor=system_actor(name="tester"), action="test.write", object_id=i)


def _unsealed(engine: object) -> int:
    with session_scope(engine) as s:  # type: ignore[arg-type]
        return audit.verify_report(s).unsealed


def test_the_sealer_thread_seals_while_running_and_at_shutdown(fresh_database) -> None:  # type: ignore[no-untyped-def]
    engine = fresh_database.engine
    assert seal_once(engine) == 0  # an idle log: nothing to do
    sealer = Sealer(engine, every=0.05)
    sealer.start()
    try:
        _append(engine, 3)
        deadline = time.monotonic() + 10
        while _unsealed(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _unsealed(engine) == 0
    finally:
        sealer.stop()
    idle = Sealer(engine, every=3600.0)  # no pass before the one at shutdown
    idle.start()
    _append(engine, 2)
    assert _unsealed(engine) == 2
    idle.stop()
    with session_scope(engine) as s:
        report = audit.verify_report(s)
    assert report.problems == [] and report.entries == 5 and report.unsealed == 0 and report.seals >= 2
