"""Database backups: SQLite's online backup API, or pg_dump for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from doudi.core.errors import DoudiError


def backup_dir(data_dir: Path) -> Path:
    """Where backups are kept."""
    path = data_dir / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_backup(engine: Engine, *, data_dir: Path, out: Path | None = None) -> Path:
    """Write a consistent backup of the database and return its path."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if engine.dialect.name == "sqlite":
        target = out or backup_dir(data_dir) / f"doudi-{stamp}.db"
        src = sqlite3.connect(str(engine.url.database))
        dst = sqlite3.connect(str(target))
        try:
            with dst:
                src.backup(dst)  # consistent even while the server writes
        finally:
            src.close()
            dst.close()
        return target
    if shutil.which("pg_dump") is None:
        raise DoudiError("未找到 pg_dump，请安装 PostgreSQL 客户端")
    target = out or backup_dir(data_dir) / f"doudi-{stamp}.dump"
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--file={target}", url], check=True, capture_output=True)
    return target


def list_backups(data_dir: Path) -> list[tuple[str, int, datetime]]:
    """Existing backups, newest first: (name, bytes, modified)."""
    files = [p for p in backup_dir(data_dir).iterdir() if p.suffix in {".db", ".dump"}]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [(p.name, p.stat().st_size, datetime.fromtimestamp(p.stat().st_mtime)) for p in files]
