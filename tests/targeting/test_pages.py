"""The 核对成效 page, its Excel export and the command line, through the real app and CLI: area scoping, charts
drawn from data attributes, Chinese errors, audited export."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.db.engine import session_scope
from doudi.registry.models import Household
from tests.conftest import Database
from tests.factories import PASSWORD, TOWN_A, VILLAGE_A1, make_user
from tests.targeting.conftest import build_county

PERIOD = "start=2026-06-01&end=2026-08-31"


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def _users(db: Session) -> None:
    make_user(db, "county", ["county_officer"], "370784")
    make_user(db, "town_a", ["township_approver"], TOWN_A)
    make_user(db, "village", ["village_assistant"], VILLAGE_A1)
    db.commit()


def test_page_scoped_with_charts(client, db: Session, county: dict[str, Household]) -> None:  # type: ignore[no-untyped-def]
    _users(db)
    _login(client, "county")
    page = client.get(f"/targeting/effect?{PERIOD}")
    assert page.status_code == 200
    assert 'id="total-requests">4<' in page.text  # 甲, 乙, 丙, 丁 (the September request is outside)
    assert page.text.count("data-echarts='") == 3 and "<script>" not in page.text
    assert "景芝镇" in page.text and "新安街道" in page.text and 'href="/targeting/effect"' in page.text
    client.cookies.clear()
    _login(client, "town_a")
    own = client.get(f"/targeting/effect?{PERIOD}")
    assert own.status_code == 200 and 'id="total-requests">3<' in own.text
    assert "景芝镇" not in own.text  # neither a row nor an option of another township
    client.cookies.clear()
    _login(client, "village")
    assert client.get(f"/targeting/effect?{PERIOD}").status_code == 403
    assert 'href="/targeting/effect"' not in client.get("/").text


def test_export_and_bad_input(client, db: Session, county: dict[str, Household]) -> None:  # type: ignore[no-untyped-def]
    _users(db)
    _login(client, "county")
    resp = client.get(f"/targeting/effect.xlsx?{PERIOD}")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["决定变化", "核对发现", "按月合计"]
    rows = list(book["决定变化"].iter_rows(values_only=True))
    assert rows[1][:3] == ("乡镇（街道）", "月份", "救助项目")  # under the caption line
    dibao = [r for r in rows[2:] if r[2] == "最低生活保障"]
    assert [(r[0], r[1], r[3]) for r in dibao] == [("新安街道", "2026-06", 2), ("新安街道", "2026-07", 1),
                                                   ("景芝镇", "2026-06", 1)]
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "targeting.export")) is not None
    bad = client.get("/targeting/effect?start=2026-13-01")
    assert bad.status_code == 422 and "开始日期格式" in bad.text
    reversed_ = client.get("/targeting/effect?start=2026-08-01&end=2026-06-01")
    assert reversed_.status_code == 422 and "早于开始日期" in reversed_.text


def test_command_line(fresh_database: Database, tmp_path: Path) -> None:
    with session_scope(fresh_database.engine) as s:
        build_county(s)
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path)}
    out = tmp_path / "effect.xlsx"
    done = subprocess.run([sys.executable, "-m", "doudi", "report", "verification-effect", "--from", "2026-06-01",
                           "--to", "2026-08-31", "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    # 新安街道 2026-06 低保: 2 requests, both granted on declared facts, none after; 574.00 = 337 + 237 a month.
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("新安街道\t2026-06\t最低生活保障"))
    assert line.split("\t")[3:6] == ["2", "2", "0"] and line.split("\t")[-2] == "574.00"
    assert out.exists() and load_workbook(out).sheetnames == ["决定变化", "核对发现", "按月合计"]
    bad = subprocess.run([sys.executable, "-m", "doudi", "report", "verification-effect", "--from", "2026-6-1",
                          "--to", "2026-08-31"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2 and "日期格式" in bad.stderr and "Traceback" not in bad.stderr
