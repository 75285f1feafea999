"""The server's sealer: a thread of each server process that signs new audit entries into batches every few
seconds, so the window in which an unsealed entry could be removed unnoticed stays that short."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from doudi.audit import service
from doudi.db.engine import session_scope

log = logging.getLogger(__name__)


def seal_once(engine: Engine, *, wait: bool = False) -> int:
    """One pass: the entries it sealed (0 when there was nothing to do or, unless `wait`, another process was
    sealing them)."""
    with session_scope(engine) as session:
        if not service.pending(session):  # a read: an idle server takes no write lock, on SQLite either
            return 0
    with session_scope(engine) as session:
        return service.seal(session, wait=wait).entries


class Sealer:
    """Runs `seal_once` every `every` seconds until stopped; a failed pass is logged and tried again."""

    def __init__(self, engine: Engine, *, every: float) -> None:
        self.engine, self.every = engine, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last pass, so what was written before shutdown is sealed."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.every)
            try:
                seal_once(self.engine)
            except Exception:  # the database may be busy or briefly away: the next pass seals the same entries
                log.warning("审计日志封存失败，稍后重试", exc_info=True)
            if stopping:
                return
