"""`doudi backup` writes one archive (0600) with the database, the file store and a checksum manifest; `doudi
restore` verifies it, brings both back and verifies the audit chain; only a whole-installation administrator
may take a backup from the console (issue 14 item 13). Both backends."""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from doudi.admin.backup import make_backup, restore_backup
from doudi.audit import service as audit
from doudi.auth.permissions import system_actor
from doudi.core import storage
from doudi.core.errors import DoudiError
from doudi.db.engine import session_scope
from doudi.registry.models import Household
from tests.auth.test_web_security import _csrf, _login
from tests.factories import TOWN_B, VILLAGE_A1, make_areas, make_household, make_user


def _households(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Household)) or 0)


def test_backup_and_restore_bring_back_database_and_files(fresh_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, data = fresh_database.engine, tmp_path / "var"
    storage.configure(data)
    with session_scope(engine) as s:
        make_areas(s)
        make_household(s, VILLAGE_A1, head_name="王备份")
        audit.record(s, actor=system_actor(), action="test.backup")
    rel, _ = storage.save(b"%PDF-1.4 evidence", suffix=".pdf")

    archive = make_backup(engine, data_dir=data)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "manifest.json" in names and f"files/{rel}" in names
    assert any(n.startswith("database.") for n in names)

    with session_scope(engine) as s:  # lose the data and the file
        s.execute(delete(Household))
    (data / "files" / rel).unlink()
    assert _households(engine) == 0

    report = restore_backup(engine, archive=archive, data_dir=data)
    assert _households(engine) == 1
    assert (data / "files" / rel).read_bytes() == b"%PDF-1.4 evidence"
    assert report.files == 2 and report.audit_problems == []  # the document and the audit head checkpoint


def test_a_damaged_archive_is_refused(fresh_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, data = fresh_database.engine, tmp_path / "var"
    storage.configure(data)
    archive = make_backup(engine, data_dir=data)
    # Rewrite the archive with the database member's bytes changed: the manifest's checksum no longer matches.
    work = tmp_path / "x"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    db_member = next(p for p in work.iterdir() if p.name.startswith("database."))
    db_member.write_bytes(db_member.read_bytes() + b"tampered")
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        for p in work.iterdir():
            tar.add(p, arcname=p.name)
    with pytest.raises(DoudiError, match="校验值不符"):
        restore_backup(engine, archive=bad, data_dir=data)
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    with pytest.raises(DoudiError, match="无法读取"):
        restore_backup(engine, archive=tmp_path / "junk.tar", data_dir=data)


def test_console_backup_only_when_everything_is_in_the_admins_area(client, db) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "county_admin", ["admin"], "370784")
    make_user(db, "town_admin", ["admin"], TOWN_B)
    make_household(db, VILLAGE_A1, head_name="本县户")
    db.commit()
    # An administrator of township B: the installation holds township A's household, so no whole-database backup.
    _login(client, "town_admin")
    denied = client.post("/admin/backup", data={"csrf_token": _csrf(client)})
    assert denied.status_code == 403 and 'id="backup-made"' not in denied.text
    client.cookies.clear()
    # The county's administrator: every household and account lies within 370784.
    _login(client, "county_admin")
    made = client.post("/admin/backup", data={"csrf_token": _csrf(client)})
    assert made.status_code == 200 and 'id="backup-made"' in made.text
