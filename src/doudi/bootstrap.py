"""Create or upgrade a database and load the reference data every installation needs (outside `db`, which
imports no domain)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from doudi.areas.service import seed_real_areas
from doudi.db.engine import session_scope
from doudi.db.migrate import upgrade


def init_database(engine: Engine) -> None:
    """Migrate to the latest schema and load the real GB/T 2260 seed areas (idempotent)."""
    upgrade(engine)
    with session_scope(engine) as session:
        seed_real_areas(session)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        # The database holds every ID number and bank account: readable by its owner only (with its WAL files).
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{engine.url.database}{suffix}")
            if path.exists():
                path.chmod(0o600)
