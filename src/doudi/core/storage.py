"""File storage for uploaded and generated documents, under the data directory, addressed by content hash."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from doudi.config import get_settings

_root: Path | None = None


def configure(root: Path) -> None:
    """Use `root` for stored files (the app sets this from its settings)."""
    global _root
    _root = root


def root() -> Path:
    """The storage directory."""
    base = _root or get_settings().data_dir
    files = base / "files"
    files.mkdir(parents=True, exist_ok=True)
    return files


def save(data: bytes, *, suffix: str = "") -> tuple[str, str]:
    """Store bytes; returns (relative path, sha256). Identical content is stored once."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}{suffix}"
    target = root() / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic: a crash never leaves a half-written file under the final name
    return rel, digest


def temp_path(*, suffix: str = "") -> Path:
    """A fresh path inside storage for a file being written (same filesystem, so `adopt` can rename it)."""
    tmp = root() / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp / f"{uuid.uuid4().hex}{suffix}.part"


def adopt(written: Path, *, suffix: str = "") -> tuple[str, str]:
    """Move a completely written file (from `temp_path`) under its content hash; returns (relative path, sha256).

    For files too large to hold in memory. The rename is atomic, so the final name only ever holds a
    whole file; if identical content is already stored, the new copy is dropped.
    """
    h = hashlib.sha256()
    with written.open("rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    digest = h.hexdigest()
    rel = f"{digest[:2]}/{digest}{suffix}"
    target = root() / rel
    if target.exists():
        written.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(written, target)
    return rel, digest


def path(rel: str) -> Path:
    """The absolute path of a stored file (for readers that scan files, such as Polars or DuckDB)."""
    target = (root() / rel).resolve()
    if root().resolve() not in target.parents:
        raise ValueError("path outside storage")
    return target


def load(rel: str) -> bytes:
    """Read a stored file."""
    return path(rel).read_bytes()
