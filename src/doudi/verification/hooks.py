"""What other domains do after a feed batch is ingested and linked (e.g. the monitoring comparison), registered
here so that verification never imports them: a domain adds its hook with `after_ingest(fn)` when loaded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.ingest.models import IngestBatch

log = logging.getLogger(__name__)

Hook = Callable[[Session, Actor, IngestBatch], None]
_HOOKS: dict[str, Hook] = {}


def after_ingest(name: str, hook: Hook) -> None:
    """Register (or replace) a hook run after every new feed batch, in the ingest's transaction."""
    _HOOKS[name] = hook


def run_after_ingest(session: Session, *, actor: Actor, batch: IngestBatch) -> dict[str, str]:
    """Run every hook in its own savepoint: a failing hook is rolled back and logged, the ingest stands (the daily
    job picks up what the hook missed). Returns the hooks that failed, with their errors."""
    failed: dict[str, str] = {}
    for name, hook in list(_HOOKS.items()):
        try:
            with session.begin_nested():
                hook(session, actor, batch)
        except Exception as exc:  # a follow-on job must not undo the ingest; the error is kept in the log
            log.warning("入库后续任务 %s 失败（批次 %s）：%s", name, batch.id, exc)
            failed[name] = str(exc)
    return failed
