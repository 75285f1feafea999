"""Alembic environment: uses a connection handed in by doudi.db.migrate, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from doudi.db.base import Base
from doudi.db.engine import make_engine
from doudi.db.registry import load_all_models

load_all_models()
target_metadata = Base.metadata
config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database."""
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    from doudi.config import get_settings

    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)


run_migrations_online()
