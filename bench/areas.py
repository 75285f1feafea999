"""Synthetic townships and villages of 安丘 (370784) for the benches that seed their own database."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from doudi.areas.service import AreaRow, upsert_areas
from doudi.db.engine import session_scope


def seed_areas(engine: Engine, *, towns: int = 20, villages: int = 20) -> tuple[list[str], list[str]]:
    """Write `towns` townships of `villages` villages each (marked synthetic); their codes."""
    town_codes = [f"370784{t:03d}" for t in range(1, towns + 1)]
    village_codes = [f"{t}{v:03d}" for t in town_codes for v in range(1, villages + 1)]
    with session_scope(engine) as s:
        rows = [AreaRow(t, f"乡镇{i + 1}", True, "synthetic") for i, t in enumerate(town_codes)]
        rows += [AreaRow(v, f"村{v[-3:]}", True, "synthetic") for v in village_codes]
        upsert_areas(s, rows=rows)
    return town_codes, village_codes
