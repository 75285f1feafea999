"""Charity tests keep signed consent forms in the test's own temporary storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from doudi.core import storage


@pytest.fixture(autouse=True)
def payload_storage(tmp_path: Path) -> Iterator[Path]:
    """Point content-addressed storage at a temporary directory for the test."""
    before = storage._root
    storage.configure(tmp_path / "data")
    yield tmp_path / "data"
    storage.configure(before)  # type: ignore[arg-type]
