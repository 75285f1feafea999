"""Database backups: SQLite's online backup API, or pg_dump for PostgreSQL (see db.dialect)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from doudi.db.frames import frame_dialect


def backup_dir(data_dir: Path) -> Path:
    """Where backups are kept."""
    path = data_dir / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_backup(engine: Engine, *, data_dir: Path, out: Path | None = None) -> Path:
    """Write a consistent backup of the database and return its path."""
    dialect = frame_dialect(engine)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = out or backup_dir(data_dir) / f"doudi-{stamp}{dialect.backup_suffix}"
    dialect.backup(engine, target)
    return target


def list_backups(data_dir: Path) -> list[tuple[str, int, datetime]]:
    """Existing backups, newest first: (name, bytes, modified)."""
    files = [p for p in backup_dir(data_dir).iterdir() if p.suffix in {".db", ".dump"}]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [(p.name, p.stat().st_size, datetime.fromtimestamp(p.stat().st_mtime)) for p in files]
