"""Backups: one archive (mode 0600) holding the database (SQLite online backup or pg_dump, see db.dialect), the
file store and a manifest of checksums; a restore verifies the archive first and the audit chain after."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from doudi import __version__
from doudi.audit import service as audit
from doudi.audit.sealer import seal_once
from doudi.core import clock
from doudi.core.errors import DoudiError
from doudi.db.engine import session_scope
from doudi.db.frames import frame_dialect
from doudi.db.migrate import current

SUFFIX = ".tar"
MANIFEST = "manifest.json"


def backup_dir(data_dir: Path) -> Path:
    """Where backups are kept (readable by the owner only)."""
    path = data_dir / "backups"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_backup(engine: Engine, *, data_dir: Path, out: Path | None = None) -> Path:
    """Write one archive with the database, the file store and a manifest; return its path."""
    dialect = frame_dialect(engine)
    # The archive carries a signed checkpoint of the audit head, so a chain cut short after it is detected.
    seal_once(engine, wait=True)  # writes only when there is something to seal (a read takes no lock on SQLite)
    with session_scope(engine) as session:
        audit.write_checkpoint(session, directory=data_dir / "files")
    stamp = clock.stamp()
    target = out or backup_dir(data_dir) / f"doudi-{stamp}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        db_file = Path(work) / f"database{dialect.backup_suffix}"
        dialect.backup(engine, db_file)
        files_root = data_dir / "files"
        members = {db_file.name: _sha256(db_file)}
        stored = sorted(p for p in files_root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(
            files_root).parts) if files_root.exists() else []
        for p in stored:
            members[f"files/{p.relative_to(files_root).as_posix()}"] = _sha256(p)
        manifest = {"version": __version__, "backend": dialect.name, "revision": current(engine),
                    "created": clock.local().isoformat(timespec="seconds"), "members": members}
        manifest_file = Path(work) / MANIFEST
        manifest_file.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        part = target.with_name(target.name + ".part")
        # Created 0600 from the start: the archive holds every ID number and bank account.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            tar.add(manifest_file, arcname=MANIFEST)
            tar.add(db_file, arcname=db_file.name)
            for p in stored:
                tar.add(p, arcname=f"files/{p.relative_to(files_root).as_posix()}")
        part.replace(target)  # a crash never leaves a half-written archive under the final name
    return target


def list_backups(data_dir: Path) -> list[tuple[str, int, datetime]]:
    """Existing backups, newest first: (name, bytes, modified)."""
    files = [p for p in backup_dir(data_dir).iterdir() if p.suffix in {SUFFIX, ".db", ".dump"}]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [(p.name, p.stat().st_size, datetime.fromtimestamp(p.stat().st_mtime)) for p in files]


@dataclass
class RestoreReport:
    """What a restore did and what it found."""

    revision: str | None
    files: int
    audit_entries_checked: bool
    audit_problems: list[str]


def _extract_checked(archive: Path, into: Path) -> dict[str, object]:
    """Unpack the archive safely and check every member against the manifest; the manifest."""
    try:
        with tarfile.open(archive, mode="r") as tar:
            tar.extractall(into, filter="data")  # refuses absolute paths, `..` and links out of the directory
    except (tarfile.TarError, OSError) as exc:
        raise DoudiError(f"备份文件无法读取：{exc}") from None
    manifest_file = into / MANIFEST
    if not manifest_file.exists():
        raise DoudiError("备份文件缺少清单（manifest.json），不是 doudi 的备份")
    manifest: dict[str, object] = json.loads(manifest_file.read_text(encoding="utf-8"))
    members = manifest.get("members")
    if not isinstance(members, dict) or not members:
        raise DoudiError("备份清单为空或已损坏")
    for name, digest in members.items():
        path = into / name
        if not path.is_file():
            raise DoudiError(f"备份不完整：缺少 {name}")
        if _sha256(path) != digest:
            raise DoudiError(f"备份已损坏：{name} 的校验值不符")
    return manifest


def restore_backup(engine: Engine, *, archive: Path, data_dir: Path) -> RestoreReport:
    """Verify the archive, replace the database and the file store with its content, then verify the audit chain."""
    dialect = frame_dialect(engine)
    if not archive.is_file():
        raise DoudiError(f"找不到备份文件：{archive}")
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        manifest = _extract_checked(archive, Path(work))
        if manifest.get("backend") != dialect.name:
            raise DoudiError(f"备份来自 {manifest.get('backend')} 数据库，当前数据库是 {dialect.name}，不能直接恢复")
        dialect.restore(engine, Path(work) / f"database{dialect.backup_suffix}")
        files_src, files_dst = Path(work) / "files", data_dir / "files"
        restored = 0
        if files_src.exists():
            for p in files_src.rglob("*"):
                if p.is_file():
                    dst = files_dst / p.relative_to(files_src)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, dst)
                    restored += 1
    with session_scope(engine) as session:
        problems = [f"第 {p.seq} 条：{p.problem}" for p in audit.verify(session, checkpoint_dir=data_dir / "files")]
    return RestoreReport(revision=current(engine), files=restored, audit_entries_checked=True,
                         audit_problems=problems)
