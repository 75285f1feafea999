"""`doudi charity match|needs|escalate|partners` as a county runs them: proposals made, the ledger written to
Excel masked, escalation summarised, a bad date refused with a Chinese message and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope
from tests.charity.builders import need, world


def _doudi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_match_export_escalate(fresh_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    with session_scope(fresh_database.engine) as s:
        w = world(s)
        county = system_actor(name="test")
        need(s, county, w.a, deadline=date(2026, 11, 20), today=date(2026, 11, 2))
        need(s, county, w.b, deadline=date(2026, 11, 21), today=date(2026, 11, 2))
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(tmp_path / "var")}
    listed = _doudi(env, "charity", "partners")
    assert listed.returncode == 0 and "共 3 家合作机构" in listed.stdout
    # Township A's own: town_care alone, and the count says so (not the county's 3).
    town = _doudi(env, "charity", "partners", "--area", "370784001")
    assert town.returncode == 0 and "共 1 家合作机构" in town.stdout
    assert "town_care" in town.stdout and "county_fund" not in town.stdout
    # household A (township A): town_care; household B (township B): county_fund → both proposed
    matched = _doudi(env, "charity", "match", "--date", "2026-11-02")
    assert matched.returncode == 0 and "已为 2 条需求推荐合作机构" in matched.stdout, matched.stderr
    out = tmp_path / "needs.xlsx"
    written = _doudi(env, "charity", "needs", "--out", str(out), "--date", "2026-11-02")
    assert written.returncode == 0 and "已导出 2 条需求" in written.stdout
    cells = [str(c) for row in load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True)
             for c in row if c is not None]
    assert "13912345678" not in cells and "已推荐" in cells
    # 2026-11-22: both deadlines passed without a partner confirmed → expired
    late = _doudi(env, "charity", "escalate", "--date", "2026-11-22")
    assert late.returncode == 0 and "过期未匹配 2 条" in late.stdout
    bad = _doudi(env, "charity", "match", "--date", "2026-13-01")
    assert bad.returncode == 2 and "日期格式" in bad.stderr
