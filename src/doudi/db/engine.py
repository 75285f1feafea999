"""Engine and session factories for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from doudi.config import get_settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; SQLAlchemy takes over instead.
    dbapi_conn.isolation_level = None
    # Foreign keys are off by default in SQLite; WAL lets the web server read while a batch writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")


def begin_write(session: Session) -> None:
    """Open the session's next transaction as a writer: on SQLite with BEGIN IMMEDIATE, so a transaction that
    reads and then writes waits for the lock (busy timeout) instead of failing at once with "database is locked".
    Nothing changes on PostgreSQL, or when the transaction has already begun."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": True})


T = TypeVar("T")
log = logging.getLogger(__name__)
BUSY_ATTEMPTS = 5  # tries of a short transaction that SQLite answers "database is locked"
BUSY_DELAY = 0.05  # seconds before the second try; doubled for each later one (with jitter), 1.55 s in all


def is_busy(exc: BaseException) -> bool:
    """True when SQLite refused a write because another writer holds the database (after the busy timeout, or at
    once when a reading transaction tries to become a writer)."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.OperationalError) and ("locked" in str(orig).lower() or "busy" in str(orig).lower())


def retry_busy(session: Session, work: Callable[[], T], *, label: str, attempts: int = BUSY_ATTEMPTS,
               delay: float = BUSY_DELAY) -> T:
    """Run a short transaction (`work` writes and commits) again when SQLite reports the database busy: roll
    back, wait a little longer each time, and give up after `attempts` tries with the last error. Each retry
    is logged. PostgreSQL never reports busy (it waits on row locks), so there `work` runs once."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            if not is_busy(exc) or attempt == attempts:
                raise
            session.rollback()
            wait = delay * 2 ** (attempt - 1) * (0.5 + random.random())  # jitter, not security
            log.warning("数据库繁忙（%s，第 %d 次），%.0f 毫秒后重试", label, attempt, wait * 1000)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


# As many connections as the server's thread pool runs requests (AnyIO's 40), so a burst of requests waits
# for the database, not for a connection.
POOL = {"pool_size": 10, "max_overflow": 30}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs."""
    if (url.startswith("sqlite") and ":memory:" not in url) or url.startswith("postgresql"):
        kwargs = {**POOL, **kwargs}
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


PING_IDLE = 10.0  # seconds a pooled connection may rest before it is tested at checkout


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection at checkout only when it rested longer than PING_IDLE: one that served a request
    moments ago is alive, and `pool_pre_ping` would cost a round trip on every request. A dead one (the server
    restarted, a firewall dropped it) is replaced before the request sees it, as with pre-ping."""

    @event.listens_for(engine, "checkin")
    def _rested(_dbapi_conn: Any, record: Any) -> None:
        record.info["doudi_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("doudi_idle_since")
        if since is None or time.monotonic() - since < PING_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("连接已断开") from exc  # the pool replaces it and tries again


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().resolved_database_url())


def sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to an engine; sessions do not expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


class WriteInReadSession(RuntimeError):
    """A route declared read-only tried to write: a programming error, caught by the tests."""


def _refuse_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise WriteInReadSession(f"只读会话不能写入：{state.statement}")


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInReadSession("只读会话不能写入：有待保存的对象")


def read_sessionmaker_for(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A factory like `factory` for routes that only read; any write through its sessions raises.

    On PostgreSQL its statements run outside a transaction (autocommit), which spares each request the BEGIN and
    ROLLBACK round trips: a third of the database's work on a read. Nothing is lost by it: at READ COMMITTED each
    statement takes its own snapshot inside a transaction too."""
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        bind = bind.execution_options(isolation_level="AUTOCOMMIT")
    reader: sessionmaker[Session] = sessionmaker(**{**factory.kw, "bind": bind})
    event.listen(reader, "do_orm_execute", _refuse_dml)
    event.listen(reader, "before_flush", _refuse_flush)
    return reader


def write_sessionmaker_for(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A factory like `factory` for requests that write: on SQLite each transaction opens with BEGIN IMMEDIATE,
    so a request that reads and then writes waits for the one writer's lock (busy timeout) instead of being
    refused when it tries to write. The same factory elsewhere."""
    bind = factory.kw.get("bind")
    if not (isinstance(bind, Engine) and bind.dialect.name == "sqlite"):
        return factory
    return sessionmaker(**{**factory.kw, "bind": bind.execution_options(sqlite_immediate=True)})


def outside_transactions(session: Session) -> bool:
    """Whether the session's statements run outside a transaction (a PostgreSQL read session's)."""
    bind = session.get_bind()
    return isinstance(bind, Engine) and bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work for CLI commands: commit on success, roll back on error."""
    factory = sessionmaker_for(engine or get_engine())
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

