"""Shared synthetic counties: one small county written to disk, one larger one kept in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from doudi.synth.generate import SynthConfig, World, build_world, generate


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 300-household 安丘 county written with every file (seed 7)."""
    out = tmp_path_factory.mktemp("county")
    manifest = generate(SynthConfig(households=300, seed=7), out, show_progress=False)
    return out, manifest


@pytest.fixture(scope="session")
def big_world() -> World:
    """A 20,000-household 安丘 county in memory (no feeds), large enough to check distributions."""
    return build_world(SynthConfig(households=20_000, seed=11, feeds=False))
