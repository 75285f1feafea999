"""Run Alembic migrations programmatically (used by the CLI, the demo and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        # SQLite's ALTERs rebuild the table (drop and re-create); with foreign keys enforced, dropping a table
        # that other rows reference fails. Alembic's advice: switch them off outside the transaction, then
        # check every reference before committing.
        if sqlite:
            _pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"迁移后外键引用不一致：{broken[:5]}")
        finally:
            if sqlite:
                _pragma(conn, "PRAGMA foreign_keys=ON")


def _pragma(conn: Connection, statement: str) -> None:
    # Straight to the driver: through SQLAlchemy the statement would open a transaction, where SQLite ignores it.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(statement)


def current(engine: Engine) -> str | None:
    """The schema revision the database is at."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
