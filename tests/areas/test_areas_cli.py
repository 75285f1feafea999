"""`doudi areas list`: a code prefix such as 3707 lists its subtree; bad options are a clear error with exit 2
(issue 14 item 10: `--under 3707` gave a traceback)."""

from __future__ import annotations

from pathlib import Path

from doudi.db.engine import session_scope
from tests.conftest import Database
from tests.factories import make_areas
from tests.registry.test_import_households import _cli


def test_prefix_and_bad_options(fresh_database: Database, tmp_path: Path) -> None:
    with session_scope(fresh_database.engine) as session:
        make_areas(session)
    listed = _cli(fresh_database, tmp_path, "areas", "list", "--under", "3707")
    assert listed.returncode == 0, listed.stderr
    assert "370784001" in listed.stdout and "Traceback" not in listed.stderr
    bad = _cli(fresh_database, tmp_path, "areas", "list", "--under", "37x")
    assert bad.returncode == 2 and "--under" in bad.stderr and "Traceback" not in bad.stderr
    level = _cli(fresh_database, tmp_path, "areas", "list", "--level", "town")
    assert level.returncode == 2 and "级别应为" in level.stderr
