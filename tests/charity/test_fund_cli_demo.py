"""The charity CLI end to end (donation, grant, approval by a second person, balance, public report, support
outcome and overdue pledges) and the demo seeds of the fund and of support."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from doudi.cases.models import Enrollment
from doudi.charity.fund import demo as fund_demo
from doudi.charity.fund import service
from doudi.charity.fund.models import Donation, Grant, Policy
from doudi.charity.support import demo as support_demo
from doudi.charity.support.models import Pairing, Plan, Training
from doudi.core import clock
from doudi.db.engine import session_scope
from tests.charity.test_fund import COUNTY, make_staff
from tests.conftest import Database
from tests.factories import TOWN_A, VILLAGE_A1, make_household


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_donate_grant_approve_balance_report(fresh_database: Database, tmp_path: Path) -> None:
    with session_scope(fresh_database.engine) as s:
        make_staff(s)
        hh_id = make_household(s, VILLAGE_A1).id
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var")}
    ok = _run(env, "charity", "fund", "donate", "--area", COUNTY, "--receipt", "CLI-1", "--donor", "某公司",
              "--kind", "company", "--amount", "1000", "--purpose", "medical", "--restricted", "--as", "fund_maker")
    assert ok.returncode == 0 and "1000.00 元" in ok.stdout, ok.stderr
    dup = _run(env, "charity", "fund", "donate", "--area", COUNTY, "--receipt", "CLI-1", "--donor", "某公司",
               "--amount", "1000", "--as", "fund_maker")
    assert dup.returncode == 2 and "已登记过" in dup.stderr and "Traceback" not in dup.stderr
    over = _run(env, "charity", "fund", "grant", "--amount", "1000.01", "--purpose", "medical", "--reason", "大病",
                "--household", str(hh_id), "--as", "fund_maker")
    assert over.returncode == 2 and "不足拨付 1000.01 元" in over.stderr
    g = _run(env, "charity", "fund", "grant", "--amount", "400", "--purpose", "medical", "--reason", "大病",
             "--household", str(hh_id), "--as", "fund_maker")
    assert g.returncode == 0, g.stderr
    with session_scope(fresh_database.engine) as s:
        grant_id = s.scalar(select(Grant.id))
    own = _run(env, "charity", "fund", "approve", str(grant_id), "--as", "fund_maker")
    assert own.returncode == 2 and "权限" in own.stderr
    done = _run(env, "charity", "fund", "approve", str(grant_id), "--as", "fund_checker")
    assert done.returncode == 0 and "已批准" in done.stdout
    bal = _run(env, "charity", "fund", "balance", "--area", COUNTY, "--as", "fund_checker")
    assert bal.returncode == 0 and "600.00" in bal.stdout  # 1,000.00 − 400.00 of medical money
    out = tmp_path / "report.xlsx"
    rep = _run(env, "charity", "fund", "report", "--area", COUNTY, "--out", str(out))
    assert rep.returncode == 0 and "医疗救助" in rep.stdout and out.read_bytes().startswith(b"PK")
    assert "某公司" not in rep.stdout
    overdue = _run(env, "charity", "support", "overdue", "--as", "fund_maker")
    assert overdue.returncode == 0 and "逾期未兑现 0 项" in overdue.stdout


def test_demo_seeds_fund_and_support(fresh_database: Database) -> None:
    today = clock.today()
    with session_scope(fresh_database.engine) as s:
        make_staff(s)
        for i in range(4):
            hh = make_household(s, VILLAGE_A1, head_name=f"演示{i}")
            s.add(Enrollment(household_id=hh.id, area_code=hh.area_code, program="dibao", status="active",
                             monthly_amount=Decimal("500"), start_month=today.replace(day=1) - timedelta(days=400),
                             version=1))
    for _ in range(2):  # idempotent
        with session_scope(fresh_database.engine) as s:
            fund_demo.seed(s, today=today, township=TOWN_A)
            support_demo.seed(s, today=today, township=TOWN_A)
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(Donation)) == 6
        assert s.scalar(select(func.count()).select_from(Plan)) == 3
        assert s.scalar(select(func.count()).select_from(Pairing)) == 2
        assert s.scalar(select(Policy.status)) == "paid"
        assert s.scalar(select(Training.review_warning_id).where(Training.status == "employed")) is not None
        assert service.ledger_problems(s, county=COUNTY) == []
