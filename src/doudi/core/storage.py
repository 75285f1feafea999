"""File storage for uploaded and generated documents, under the data directory, addressed by content hash."""

from __future__ import annotations

import hashlib
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
    path = base / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def load(rel: str) -> bytes:
    """Read a stored file."""
    path = (root() / rel).resolve()
    if root().resolve() not in path.parents:
        raise ValueError("path outside storage")
    return path.read_bytes()
