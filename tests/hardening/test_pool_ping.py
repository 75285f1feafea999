"""Pooled PostgreSQL connections are tested at checkout only after resting (not on every request, as pool_pre_ping
did); a connection that died while resting is replaced before a request sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from doudi.db import engine as engines
from tests.conftest import Database


def test_a_dead_rested_connection_is_replaced(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    engine = engines.make_engine(database.url, pool_size=1, max_overflow=0)
    admin = create_engine(database.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            first = conn.execute(text("select pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:  # reused at once: the same connection, not tested
            assert conn.execute(text("select pg_backend_pid()")).scalar_one() == first
        with admin.connect() as conn:  # the server ends the resting connection
            assert conn.execute(text("select pg_terminate_backend(:p)"), {"p": first}).scalar_one() is True
        monkeypatch.setattr(engines, "PING_IDLE", 0.0)  # as if it had rested long enough to be tested
        with engine.connect() as conn:
            second = conn.execute(text("select pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()
