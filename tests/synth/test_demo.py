"""`doudi demo --no-serve` builds a working database, idempotently, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from doudi.audit.models import AuditEntry
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.passwords import check_password_rules
from doudi.auth.permissions import ROLES
from doudi.config import Settings
from doudi.db.engine import session_scope
from doudi.ingest.models import IngestBatch
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, LivingCondition, Person
from doudi.synth.demo import run_demo
from doudi.synth.demo_accounts import demo_accounts
from doudi.verification.sources import load_sources
from tests.conftest import Database


def test_demo_accounts_cover_every_role_with_valid_passwords() -> None:
    accounts = demo_accounts()
    assert [a.role for a in accounts] == list(ROLES)
    for a in accounts:
        check_password_rules(a.password, username=a.username)  # raises if a rule is broken
    areas = {a.role: a.area_code for a in accounts}
    assert areas["county_officer"] == areas["auditor"] == "370784"
    assert areas["township_caseworker"] == areas["care_provider"] == "370784001"
    assert areas["village_assistant"] == "370784001001"


def test_demo_loads_once_and_accounts_sign_in(fresh_database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url, secret_key="k")
    first = run_demo(settings=settings, engine=fresh_database.engine, households=120, seed=5)
    manifest = json.loads((tmp_path / "var" / "demo" / "manifest.json").read_text(encoding="utf-8"))
    assert first.loaded and first.households == manifest["households"]
    assert sorted(first.created_accounts) == sorted(a.username for a in demo_accounts())
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == manifest["persons"]
        declared = select(func.count()).select_from(IncomeFact).where(IncomeFact.source_kind == "declared")
        assert s.scalar(declared) == manifest["counts"]["income.parquet"]
        # The demo also ingests the agency feeds, so verification requests have real answers to show.
        feed = select(func.count()).select_from(IncomeFact).where(IncomeFact.source_kind == "feed")
        assert (s.scalar(feed) or 0) > 0
        assert s.scalar(select(func.count()).select_from(AssetFact).where(AssetFact.source_kind == "declared")) == \
            manifest["counts"]["assets.parquet"]
        assert s.scalar(select(func.count()).select_from(ExpenseFact).where(ExpenseFact.source_kind == "declared")) == \
            manifest["counts"]["expenses.parquet"]
        assert s.scalar(select(func.count()).select_from(LivingCondition)) == manifest["counts"]["living.parquet"]
        assert set(s.scalars(select(IncomeFact.source_kind))) == {"declared", "feed"}
        # Every demo decision agrees with the engine: approvals of what it finds eligible, paid above zero.
        from doudi.cases.consistency import engine_view, pays
        from doudi.cases.models import Case, Enrollment

        for case in s.scalars(select(Case).where(Case.status == "decided")):
            for d in case.decisions:
                view = engine_view(case, d.program)
                supported = bool(view.eligible and (view.amount > 0 or not pays(d.program)))
                assert (d.outcome == "approved") == supported, (case.id, d.program)
                assert d.override_level == ""
        assert all(e.monthly_amount > 0 for e in s.scalars(select(Enrollment)))
        # The agency feeds belong to the demo county: its verifier and liaison see them, its auditor their audit.
        from doudi.audit.query import AuditFilter, search
        from doudi.verification.queue import list_batches

        feed_areas = set(s.scalars(select(IngestBatch.area_code).where(IngestBatch.kind == "feed")))
        assert feed_areas == {"370784"}
        users = {u.username: auth.actor_for(u) for u in s.scalars(select(User))}
        n_feeds = s.scalar(select(func.count()).select_from(IngestBatch).where(IngestBatch.kind == "feed")) or 0
        for name in ("verifier", "liaison", "county", "auditor"):
            assert len(list_batches(s, actor=users[name], limit=1000)) == n_feeds, name
        _, seen = search(s, actor=users["auditor"], filters=AuditFilter(action="feed."), per_page=1)
        stored = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.startswith("feed.")))
        assert seen == stored and (stored or 0) >= n_feeds
        for a in demo_accounts():
            login = auth.authenticate(s, settings=settings, username=a.username, password=a.password)
            assert login.user is not None and login.user.roles == {a.role} and login.user.area_code == a.area_code
    second = run_demo(settings=settings, engine=fresh_database.engine, households=120, seed=5)
    assert not second.loaded and second.created_accounts == [] and second.households == first.households
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(User)) == len(ROLES)
        # households + 4 fact files + current recipients, plus one batch per agency feed with rows — all from
        # the first run only
        imports = select(func.count()).select_from(IngestBatch).where(IngestBatch.kind == "import")
        assert s.scalar(imports) == 6
        feeds = {b for b in s.scalars(select(IngestBatch.source_key).where(IngestBatch.kind == "feed"))}
        assert feeds and feeds <= set(load_sources())
        assert s.scalar(select(func.count()).select_from(Household)) == first.households


def test_demo_command_prints_the_accounts_first(fresh_database: Database, tmp_path: Path) -> None:
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [sys.executable, "-m", "doudi", "demo", "--no-serve", "--households", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "演示账户（用户名 / 密码 / 角色 / 区划）："
    accounts = demo_accounts()
    for line, account in zip(lines[1:], accounts, strict=False):
        assert line.split()[:3] == [account.username, account.password, account.role]
        assert account.area_code in line
    assert lines[len(accounts) + 1].startswith("启动用时 ")
