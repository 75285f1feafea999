"""The CLI end to end (roll, approve as a named checker, bank file, reconcile, daily) and the demo seed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from doudi.cases.models import Enrollment
from doudi.db.engine import session_scope
from doudi.payments import demo
from doudi.payments.models import LineStatus, PaymentLine, PaymentRoll, RollStatus
from tests.conftest import Database
from tests.factories import TOWN_A, VILLAGE_A1, make_household
from tests.payments.world import account, enroll, make_staff


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_roll_approve_file_reconcile(fresh_database: Database, tmp_path: Path) -> None:
    with session_scope(fresh_database.engine) as s:
        make_staff(s)
        hh = make_household(s, VILLAGE_A1)
        account(s, f"H{hh.id}", "6230123456789012")
        enroll(s, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var")}
    bad = _run(env, "pay", "roll", "--month", "2026/01", "--area", "370784")
    assert bad.returncode == 2 and "月份格式应为 YYYY-MM" in bad.stderr and "Traceback" not in bad.stderr
    done = _run(env, "payments", "roll", "--month", "2026-01", "--program", "dibao", "--area", "370784")
    assert done.returncode == 0, done.stderr
    assert "537.00" in done.stdout and "待审核" in done.stdout
    with session_scope(fresh_database.engine) as s:
        roll_id = s.scalar(select(PaymentRoll.id))
    ok = _run(env, "pay", "approve", str(roll_id), "--as", "pay_checker")
    assert ok.returncode == 0 and "已审核" in ok.stdout
    out = tmp_path / "bank"
    f = _run(env, "pay", "bank-file", str(roll_id), "--format", "domestic", "--out", str(out))
    assert f.returncode == 0, f.stderr
    name = f"DD{roll_id}-0001-D.csv"
    text = (out / name).read_bytes().decode("gb18030")
    assert text.splitlines()[-1] == "合计,1,,537.00,,"
    ret = tmp_path / "return.csv"
    ret.write_text(f"流水号,金额,状态,原因代码\nDD{roll_id}-0000001,537.00,成功,\nDD0-9,1.00,成功,\n", encoding="utf-8")
    r = _run(env, "pay", "reconcile", str(ret))
    assert r.returncode == 0 and "到账 1" in r.stdout and "未匹配 1" in r.stdout
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(PaymentRoll.status)) == RollStatus.RECONCILED
        assert s.scalar(select(PaymentLine.status)) == LineStatus.PAID
    # `doudi daily` in the window (1st–10th) makes February's rolls; outside it, nothing.
    d = _run(env, "daily", "--date", "2026-02-03")
    assert d.returncode == 0 and "发放：4 份花名册（2026-02），共 1 笔，537.00 元" in d.stdout
    late = _run(env, "daily", "--date", "2026-02-20")
    assert "不在花名册生成期内" in late.stdout


def test_demo_seed_shows_paid_and_pending_rolls(fresh_database: Database) -> None:
    with session_scope(fresh_database.engine) as s:
        make_staff(s)
        for i in range(8):
            make_household(s, VILLAGE_A1, head_name=f"演示{i}")
    with session_scope(fresh_database.engine) as s:
        demo.seed(s, today=date(2026, 3, 15), township=TOWN_A)
    with session_scope(fresh_database.engine) as s:
        rolls = {(r.month, r.program): r for r in s.scalars(select(PaymentRoll))}
        # 8 recipients: #0 is 特困 (every sixth from the first), #7 has no account (its line is held).
        assert rolls[(date(2026, 2, 1), "dibao")].status == RollStatus.RECONCILED
        assert rolls[(date(2026, 3, 1), "dibao")].status == RollStatus.DRAFT
        rejected = s.scalar(select(func.count()).select_from(PaymentLine).where(
            PaymentLine.status == LineStatus.REJECTED))
        held = s.scalar(select(func.count()).select_from(PaymentLine).where(
            PaymentLine.status == LineStatus.NO_ACCOUNT))
        assert rejected == 1 and (held or 0) >= 1
    with session_scope(fresh_database.engine) as s:  # a second run adds nothing
        demo.seed(s, today=date(2026, 3, 15), township=TOWN_A)
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentRoll)) == len(rolls)
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 8
