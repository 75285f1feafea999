"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away database per run, created through DOUDI_TEST_PG_URL
(default: the local `test` database). In CI (CI=true) an unreachable PostgreSQL fails the run
instead of skipping, so the PostgreSQL half of the suite can never silently disappear.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from doudi.bootstrap import init_database
from doudi.config import Settings
from doudi.db.engine import make_engine

# One audit key for the whole run (apps, commands and service tests share the databases it signs).
os.environ.setdefault("DOUDI_AUDIT_KEY", "test-audit-key")
PG_ADMIN_URL = os.environ.get("DOUDI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = [os.environ["DOUDI_TEST_BACKEND"]] if os.environ.get("DOUDI_TEST_BACKEND") else ["sqlite", "postgresql"]


def _pg_admin() -> Engine | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        return eng
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        return None


class Database:
    """A migrated test database and its URL."""

    def __init__(self, backend: str, engine: Engine, url: str) -> None:
        self.backend, self.engine, self.url = backend, engine, url


Handle = tuple[Engine, str] | None  # the admin engine and the throw-away database's name (PostgreSQL)


def _create_db(backend: str, tmp: Path) -> tuple[Database, Handle]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'test.db'}"
        engine = make_engine(url)
        init_database(engine)
        return Database(backend, engine, url), None
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL not reachable (set DOUDI_TEST_PG_URL)")
    name = f"doudi_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    init_database(engine)
    return Database(backend, engine, url), (admin, name)


def _drop(db: Database, handle: Handle) -> None:
    db.engine.dispose()
    if handle is None:
        return
    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated database per backend, shared by the whole run."""
    db, handle = _create_db(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    _drop(db, handle)


@pytest.fixture
def fresh_database(request: pytest.FixtureRequest, database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of its own for tests that commit (CLI commands, batch jobs, live servers)."""
    db, handle = _create_db(database.backend, tmp_path)
    yield db
    _drop(db, handle)


@pytest.fixture
def connection(database: Database) -> Iterator[object]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = database.engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: object) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's outer transaction."""
    factory: sessionmaker[Session] = sessionmaker(bind=connection,  # type: ignore[call-overload]
                                                  expire_on_commit=False, join_transaction_mode="create_savepoint")
    return factory


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for service-level tests; everything it does is rolled back."""
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    """Settings pointing at the test database and a temporary data directory."""
    return Settings(data_dir=tmp_path / "var", database_url=database.url, secret_key="test-secret-key", demo=True)


@pytest.fixture
def app(settings: Settings, database: Database, session_factory: sessionmaker[Session]) -> object:
    """The real application, its requests running inside the test's rolled-back transaction."""
    from doudi.main import create_app

    application = create_app(settings, engine=database.engine)
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
def client(app: object) -> Iterator[object]:
    """An HTTP client against the real app (no mocks)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as c:  # type: ignore[arg-type]
        yield c


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A real headless Chromium (Debian's), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from tests.live import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so a fixture can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


SCREENSHOTS = Path(os.environ.get("DOUDI_SCREENSHOTS", "test-artifacts/screenshots"))


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context and page (desktop size); on failure, a screenshot of every page the test opened
    is saved under test-artifacts/screenshots/ (DOUDI_SCREENSHOTS), named after the test."""
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    yield pg
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        for i, opened in enumerate(ctx.pages):
            opened.screenshot(path=str(SCREENSHOTS / f"{name}-{i}.png"), full_page=True)
    ctx.close()
