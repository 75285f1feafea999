"""Read-only routes use read sessions: on PostgreSQL their statements run outside a transaction (no BEGIN and
ROLLBACK round trips), and on both databases a write through them is refused and leaves nothing behind."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.auth import token_cache
from doudi.config import Settings
from doudi.core import clock
from doudi.core.ids import build_id_number
from doudi.db.engine import WriteInReadSession, read_sessionmaker_for, sessionmaker_for
from tests.cases.world import apply, make_world, member
from tests.conftest import Database
from tests.factories import PASSWORD

CODE = "370784999999"  # an area code no fixture uses


def _in_transaction(session: Session, backend: str) -> bool:
    return _raw_in_transaction(session.connection().connection.dbapi_connection, backend)


def _raw_in_transaction(raw: Any, backend: str) -> bool:
    """Whether the driver's connection has a transaction open (for PostgreSQL: the server's status, not ours)."""
    if backend == "postgresql":
        from psycopg import pq

        return bool(raw.info.transaction_status != pq.TransactionStatus.IDLE)
    return bool(raw.in_transaction)


def test_a_read_session_holds_no_transaction_on_postgresql(database: Database) -> None:
    factory = sessionmaker_for(database.engine)
    with factory() as ordinary, read_sessionmaker_for(factory)() as reader:
        assert ordinary.scalar(select(func.count()).select_from(Area)) == reader.scalar(
            select(func.count()).select_from(Area))
        assert _in_transaction(ordinary, database.backend)  # BEGIN was sent before the query
        # PostgreSQL: nothing was begun, so nothing is left to roll back. SQLite begins in-process, as before.
        assert _in_transaction(reader, database.backend) is (database.backend == "sqlite")


def test_a_connection_back_from_a_read_session_is_transactional_again(database: Database) -> None:
    """One pooled connection, used by a read session and then by an ordinary one: the ordinary session's work is
    in a transaction again (autocommit does not leak through the pool into writes)."""
    from doudi.db.engine import make_engine

    engine = make_engine(database.url, pool_size=1, max_overflow=0)
    try:
        factory = sessionmaker_for(engine)
        with read_sessionmaker_for(factory)() as reader:
            reader.scalar(select(func.count()).select_from(Area))
            first = reader.connection().connection.dbapi_connection
        with factory() as ordinary:
            ordinary.scalar(select(func.count()).select_from(Area))
            assert ordinary.connection().connection.dbapi_connection is first  # the same pooled connection
            assert _in_transaction(ordinary, database.backend)
    finally:
        engine.dispose()


def test_a_write_through_a_read_session_is_refused(database: Database) -> None:
    factory = sessionmaker_for(database.engine)
    with read_sessionmaker_for(factory)() as reader:
        reader.add(Area(code=CODE, name="只读测试", level="village", parent_code=None))
        with pytest.raises(WriteInReadSession, match="只读会话不能写入"):
            reader.flush()
        reader.expunge_all()
        with pytest.raises(WriteInReadSession, match="只读会话不能写入"):
            reader.execute(insert(Area).values(code=CODE, name="只读测试", level="village"))
        reader.commit()
    with factory() as check:
        assert check.scalar(select(func.count()).select_from(Area).where(Area.code == CODE)) == 0


def test_read_routes_on_a_real_engine_send_no_begin(fresh_database: Database, tmp_path: Any) -> None:
    """The inbox and a case through the API with the app's own engine, as served (not the tests' shared
    transaction): each route's queries find the connection idle, i.e. no BEGIN went before them."""
    from doudi.main import create_app

    with sessionmaker_for(fresh_database.engine)() as s:
        staff = make_world(s)
        case_id = apply(s, staff.worker, on=clock.today(), members=[
            member("读者", build_id_number("370784", date(1960, 1, 1), 316, "M"), "head", "100")]).id
        s.commit()
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url, secret_key="k", demo=True)
    statuses: list[tuple[str, bool]] = []

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("SELECT cases."):
            idle = not _raw_in_transaction(conn.connection.dbapi_connection, fresh_database.backend)
            statuses.append((statement.split()[1], idle))

    event.listen(fresh_database.engine, "before_cursor_execute", note)
    try:
        with TestClient(create_app(settings, engine=fresh_database.engine)) as client:
            token = client.post("/api/v1/auth/token", data={"username": "worker1", "password": PASSWORD}).json()
            h = {"Authorization": f"Bearer {token['access_token']}"}
            token_cache.forget_all()
            inbox = client.get("/api/v1/inbox", headers=h)
            case = client.get(f"/api/v1/cases/{case_id}", headers=h)
    finally:
        event.remove(fresh_database.engine, "before_cursor_execute", note)
    assert inbox.status_code == 200 and inbox.json()["total"] == 1
    assert case.status_code == 200 and case.json()["id"] == case_id
    assert len(statuses) >= 2  # the inbox's rows and the case
    assert all(idle is (fresh_database.backend == "postgresql") for _, idle in statuses), statuses


def test_read_routes_without_other_api_tests_read_only(client: Any, db: Session) -> None:
    """The monitoring statistics and the care payables, whose API routes no other test calls, run through a
    read session without writing (a write would raise and answer 500)."""
    make_world(db)
    db.commit()
    token = client.post("/api/v1/auth/token", data={"username": "county1", "password": PASSWORD}).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}
    stats = client.get("/api/v1/monitoring/stats", headers=h)
    assert stats.status_code == 200, stats.text
    assert isinstance(stats.json(), dict) and stats.json()
    payables = client.get("/api/v1/care/payables", params={"month": "2026-03"}, headers=h)
    assert payables.status_code == 200, payables.text
    assert payables.json() == []  # no settlement in an empty county
