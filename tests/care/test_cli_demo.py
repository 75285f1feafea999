"""`doudi care plan|settle`, `doudi daily` and the demo seed, against a committed database on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from doudi.care import visits
from doudi.care.models import Caregiver, CareProvider, CareSettlement, CareVisit
from doudi.care.rules import local_time
from doudi.config import Settings
from doudi.db.engine import session_scope
from doudi.synth.demo import run_demo
from tests.care.world import HOME_A, build
from tests.conftest import Database


def _cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOUDI_DATABASE_URL": db.url}
    return subprocess.run([sys.executable, "-m", "doudi", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_cli_plan_settle_and_daily(fresh_database: Database) -> None:
    with session_scope(fresh_database.engine) as s:
        w = build(s)
        v = visits.schedule_visit(s, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                                  start=local_time(date(2026, 3, 2), 9), end=local_time(date(2026, 3, 2), 11))
        visits.check_in(s, actor=w.sys, visit_id=v.id, at=local_time(date(2026, 3, 2), 9), latitude=HOME_A[0],
                        longitude=HOME_A[1], key="cli-in")
        visits.check_out(s, actor=w.sys, visit_id=v.id, at=local_time(date(2026, 3, 2), 11), latitude=HOME_A[0],
                         longitude=HOME_A[1], key="cli-out", services_done=["meal"])
        visits.schedule_visit(s, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                              start=local_time(date(2026, 3, 3), 9), end=local_time(date(2026, 3, 3), 11))
    bad = _cli(fresh_database, "care", "plan", "--month", "2026-13")
    assert bad.returncode == 2 and "月份格式应为 YYYY-MM" in bad.stderr and "Traceback" not in bad.stderr
    plan = _cli(fresh_database, "care", "plan", "--month", "2026-04")
    assert plan.returncode == 0 and "新排上门服务 13 次" in plan.stdout  # 16 h / 2 h + 10 h / 2 h
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(CareSettlement)) == 0
    daily = _cli(fresh_database, "daily", "--date", "2026-03-05")  # the 3 March visit never started
    assert daily.returncode == 0
    assert "居家照料：1 次上门服务记为未上门，0 项照料资格终止，新增 0 项年度复核评估" in daily.stdout
    early = _cli(fresh_database, "care", "settle", "--month", "2026-03", "--date", "2026-03-20")
    assert early.returncode == 2 and "尚未结束" in early.stderr
    # 120 minutes verified at 36.50 元/h = 73.00 元; the other provider had no visit.
    done = _cli(fresh_database, "care", "settle", "--month", "2026-03", "--date", "2026-04-01")
    assert done.returncode == 0, done.stderr
    assert "核验服务 2 小时 × 36.50 元 = 73.00 元" in done.stdout and "无上门服务记录" in done.stdout
    again = _cli(fresh_database, "care", "settle", "--month", "2026-03", "--date", "2026-04-01")
    assert "已结算" in again.stdout
    with session_scope(fresh_database.engine) as s:
        (settled,) = s.scalars(select(CareSettlement)).all()
        assert (settled.paid_minutes, settled.amount_fen, settled.unpaid_visits) == (120, 7300, 1)


def test_demo_shows_care_visits(fresh_database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url, secret_key="k")
    run_demo(settings=settings, engine=fresh_database.engine, households=600, seed=5)
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(CareProvider)) == 7
        statuses = set(s.scalars(select(CareVisit.status)))
        assert {"verified", "scheduled"} <= statuses
        assert (s.scalar(select(func.count()).select_from(CareSettlement)) or 0) >= 1
        # The demo care account is a caregiver of 安康养老服务中心.
        from doudi.auth.models import User

        user_id = s.scalar(select(User.id).where(User.username == "care"))
        assert s.scalar(select(Caregiver.id).where(Caregiver.user_id == user_id)) is not None
