"""The contract commands as a county runs them: `doudi monitor run` prints counts per rule and exits 0;
`doudi monitor warnings` writes CSV/XLSX with masked ID numbers unless unmasked with a reason (audited)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
from sqlalchemy import select

from doudi.audit.models import AuditEntry
from doudi.db.engine import session_scope
from tests.monitoring.builders import county, death_feed


def _doudi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_monitor_run_and_export(fresh_database, tmp_path: Path, payload_storage: Path) -> None:  # type: ignore[no-untyped-def]
    with session_scope(fresh_database.engine) as s:
        c = county(s)
        head = c.a.members[0].person
        death_feed(s, tmp_path, [(head.id_number, head.name, "2026-11-10")])
        number = head.id_number
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url, "DOUDI_DATA_DIR": str(payload_storage)}
    first = _doudi(env, "monitor", "run", "--date", "2026-11-16")
    assert first.returncode == 0, first.stderr
    lines = {ln.split()[0]: ln.split()[1:4] for ln in first.stdout.splitlines() if ln.split() and ln.split()[0] in
             ("death", "review_overdue", "supporter_lost", "vehicle")}
    assert lines == {"death": ["1", "1", "0"], "review_overdue": ["1", "1", "0"], "supporter_lost": ["1", "1", "0"],
                     "vehicle": ["0", "0", "0"]}
    assert "合计新增预警 3 条" in first.stdout
    second = _doudi(env, "monitor", "run", "--date", "2026-11-16")
    assert second.returncode == 0 and "合计新增预警 0 条" in second.stdout
    bad = _doudi(env, "monitor", "run", "--date", "2026-13-01")
    assert bad.returncode != 0 and "日期格式" in bad.stderr and "Traceback" not in bad.stderr

    out = tmp_path / "w.csv"
    done = _doudi(env, "monitor", "warnings", "--rule", "death", "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(out, infer_schema=False)
    assert rows.height == 1 and {"rule", "level", "status", "household_id", "person_name", "id_number",
                                 "due_date"} <= set(rows.columns)
    assert rows["rule"][0] == "death" and rows["level"][0] == "red" and rows["due_date"][0] == "2026-11-19"
    assert rows["id_number"][0] != number and "*" in rows["id_number"][0]
    no_reason = _doudi(env, "monitor", "warnings", "--format", "xlsx", "--out", str(tmp_path / "w.xlsx"), "--unmask")
    assert no_reason.returncode != 0 and "理由" in (no_reason.stderr + no_reason.stdout)
    full = _doudi(env, "monitor", "warnings", "--format", "xlsx", "--out", str(tmp_path / "w.xlsx"), "--unmask",
                  "--reason", "核对死亡信息")
    assert full.returncode == 0, full.stderr
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "w.xlsx").active
    assert number in [c for r in ws.iter_rows(values_only=True) for c in r]
    with session_scope(fresh_database.engine) as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "monitoring.unmask")) is not None
