"""A console form whose transaction is overtaken by an unrelated commit (another user's, the audit sealer's)
between its first read and its write goes through: on SQLite that write gets SQLITE_BUSY_SNAPSHOT, which is not
a conflict over the case, so the request runs again instead of telling the user someone changed the case.
A real stale version is still refused. Both backends; a real database written from a second connection."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from doudi.audit.models import AuditEntry
from doudi.cases.models import Case, CaseStep
from doudi.config import Settings
from doudi.core.ids import build_id_number
from doudi.db.engine import sessionmaker_for
from doudi.web.security import BusyRetry
from tests.cases.world import apply, make_world, member
from tests.conftest import Database
from tests.factories import PASSWORD

ON = date(2026, 3, 2)
RETRY_ATTEMPTS = inspect.signature(BusyRetry).parameters["attempts"].default  # the app's middleware


@pytest.fixture
def console(fresh_database: Database, tmp_path: Any) -> Iterator[dict[str, Any]]:
    """A case at its first step, and a console session of its caseworker against the real app (no sealer)."""
    from fastapi.testclient import TestClient

    from doudi.main import create_app

    factory = sessionmaker_for(fresh_database.engine)
    with factory() as s:
        staff = make_world(s)
        head = build_id_number("370784", date(1961, 4, 2), 651, "M")
        case_id = apply(s, staff.worker, on=ON, members=[member("邵长河", head, "head", "100")]).id
        s.commit()
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url, secret_key="snapshot-test",
                        demo=True, audit_seal_seconds=0)
    with TestClient(create_app(settings, engine=fresh_database.engine)) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token is not None
        client.post("/login", data={"username": "worker1", "password": PASSWORD, "csrf_token": token.group(1)})
        csrf = re.search(r'data-csrf="([^"]+)"', client.get("/").text)
        assert csrf is not None
        yield {"client": client, "csrf": csrf.group(1), "case_id": case_id, "factory": factory,
               "db": fresh_database}


def _state(world: dict[str, Any]) -> tuple[int, list[str]]:
    with world["factory"]() as s:
        case = s.get(Case, world["case_id"])
        assert case is not None
        done = s.scalars(select(CaseStep.key).where(CaseStep.case_id == case.id, CaseStep.status == "done")).all()
        return int(case.version), list(done)


def _audits(world: dict[str, Any]) -> int:
    with world["factory"]() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case.step.investigation_start",
            AuditEntry.object_id == str(world["case_id"]))) or 0)


def _post_overtaken(console: dict[str, Any], version: int, *, times: int | None) -> tuple[Any, int]:
    """Complete the first step by the console form while another connection commits a change to another table just
    before each of the request's case updates (the first `times` of them; None: every one). The response, and how
    many commits overtook it."""
    other = create_engine(console["db"].url, poolclass=NullPool)
    tries: list[int] = []

    def overtake(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (times is None or len(tries) < times) and statement.lstrip().upper().startswith("UPDATE CASES SET"):
            tries.append(1)
            with other.begin() as conn:
                conn.execute(text("UPDATE users SET full_name = :n WHERE username = 'worker2'"),
                             {"n": f"张会计{len(tries)}"})

    engine = console["db"].engine
    event.listen(engine, "before_cursor_execute", overtake)
    try:
        r = console["client"].post(f"/cases/{console['case_id']}/steps/investigation_start", follow_redirects=False,
                                   data={"csrf_token": console["csrf"], "version": str(version), "action": "complete"})
    finally:
        event.remove(engine, "before_cursor_execute", overtake)
        other.dispose()
    return r, len(tries)


def test_an_unrelated_commit_between_read_and_write_is_not_a_conflict(console: dict[str, Any]) -> None:
    version, done = _state(console)
    assert "investigation_start" not in done
    r, overtaken = _post_overtaken(console, version, times=1)
    assert overtaken == 1  # the other commit did land in the middle of the request
    assert r.status_code == 303, r.text[:2000]
    assert r.headers["location"] == f"/cases/{console['case_id']}"
    after, done = _state(console)
    assert after == version + 1 and "investigation_start" in done  # the step was done once
    assert _audits(console) == 1


def test_overtaken_on_every_try_nothing_is_written_and_the_user_is_told(console: dict[str, Any]) -> None:
    """Other writers commit before each of the request's tries: on SQLite the last answer is a 409 saying nothing
    was changed (and nothing is); on PostgreSQL (read committed) their commits never refuse the write."""
    before = _state(console)
    version = before[0]
    r, tries = _post_overtaken(console, version, times=None)
    if console["db"].backend == "sqlite":
        assert tries == RETRY_ATTEMPTS  # each of BusyRetry's tries was overtaken
        assert r.status_code == 409 and "本次未作任何更改" in r.text
        assert "Traceback" not in r.text
        assert _state(console) == before and _audits(console) == 0
    else:
        assert tries and r.status_code == 303
        assert _state(console)[0] == version + 1 and _audits(console) == 1


def test_a_stale_version_is_still_refused(console: dict[str, Any]) -> None:
    version, _ = _state(console)
    form = {"csrf_token": console["csrf"], "version": str(version), "action": "complete"}
    first = console["client"].post(f"/cases/{console['case_id']}/steps/investigation_start", data=form,
                                   follow_redirects=False)
    assert first.status_code == 303
    again = console["client"].post(f"/cases/{console['case_id']}/steps/investigation_start", data=form,
                                   follow_redirects=False)
    assert again.status_code == 409
    assert f"您看到的是第 {version} 版" in again.text or "当前环节" in again.text
    assert _state(console)[0] == version + 1 and _audits(console) == 1


def test_the_cli_says_nothing_was_changed(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A command whose SQLite write is overtaken (a real stale snapshot, two connections) exits with 2 and a
    Chinese sentence, not the driver's message or a traceback."""
    import typer

    from doudi import cli
    from doudi.db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    extra = typer.Typer()

    @extra.command("race")
    def race() -> None:
        with engine.connect() as mine:
            mine.begin()
            mine.execute(text("SELECT n FROM t")).all()  # this transaction's snapshot
            with engine.begin() as other:
                other.execute(text("UPDATE t SET n = 1"))
            mine.execute(text("UPDATE t SET n = 2"))  # refused: SQLITE_BUSY_SNAPSHOT

    cli.app.add_typer(extra, name="test-race")
    monkeypatch.setattr("sys.argv", ["doudi", "test-race", "race"])
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        cli.app.registered_groups = [g for g in cli.app.registered_groups if g.name != "test-race"]
        engine.dispose()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "本次未作任何更改" in err and "Traceback" not in err and "database" not in err.lower()
