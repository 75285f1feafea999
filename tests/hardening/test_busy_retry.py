"""SQLite busy (issue 14 item 5): a short transaction that meets another writer is retried, a bounded number of
times, each retry logged; past the bound the error goes on (the web layer answers 503 with Retry-After)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from doudi.db.engine import make_engine, retry_busy


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")

    def no_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")  # fail at once, as a reader turning writer does

    event.listen(engine, "connect", no_wait)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def _blocker(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    return other


def test_a_short_transaction_waits_for_the_other_writer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "busy.db"
    engine = _engine(path)
    other = _blocker(path)
    release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
    release.start()
    session = Session(engine)

    def work() -> str:
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()
        return "ok"

    with caplog.at_level(logging.WARNING, logger="doudi.db.engine"):
        assert retry_busy(session, work, label="测试写入") == "ok"
    release.join()
    assert "数据库繁忙（测试写入，第 1 次）" in caplog.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2  # the blocker's row and ours
    session.close()
    other.close()
    engine.dispose()


def test_retries_are_bounded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "busy.db"
    engine = _engine(path)
    other = _blocker(path)  # never released
    session = Session(engine)
    calls = []

    def work() -> None:
        calls.append(1)
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()

    with caplog.at_level(logging.WARNING, logger="doudi.db.engine"), pytest.raises(OperationalError):
        retry_busy(session, work, label="测试写入", attempts=3, delay=0.01)
    assert len(calls) == 3 and caplog.text.count("数据库繁忙") == 2
    session.close()
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_a_request_answered_busy_is_run_again(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from doudi.web.security import BUSY_HEADER, BusyRetry

    seen: list[bytes] = []

    async def write(request: Request) -> Response:
        seen.append(await request.body())  # the body is replayed on each run
        if len(seen) < 3:  # busy twice, as the error handler answers after rolling back
            return JSONResponse({"detail": "数据库繁忙，请稍后重试"}, status_code=503,
                                headers={BUSY_HEADER.decode(): "1", "Retry-After": "1"})
        return JSONResponse({"ok": True}, status_code=201)

    app = BusyRetry(Starlette(routes=[Route("/w", write, methods=["POST"])]), delay=0.01)
    with caplog.at_level(logging.WARNING, logger="doudi.web.security"), TestClient(app) as client:
        response = client.post("/w", json={"n": 1})
    assert response.status_code == 201 and BUSY_HEADER.decode() not in response.headers
    assert seen == [b'{"n":1}'] * 3 and caplog.text.count("数据库繁忙") == 2
    # Past the bound the 503 goes out (without the internal header).
    seen.clear()
    with TestClient(BusyRetry(Starlette(routes=[Route("/w", write, methods=["POST"])]), attempts=2, delay=0.01)) as c:
        response = c.post("/w", json={"n": 1})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1" and len(seen) == 2
    assert BUSY_HEADER.decode() not in response.headers
