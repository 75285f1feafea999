"""monitoring: the ledger's pages keep room, so new evidence for an open warning is written in place

Revision ID: 2710
Revises: 2700
Create Date: 2026-12-07 03:00:00.000000

A run that finds new feed evidence for open warnings rewrites each of them (evidence, last seen, version), and no
indexed column changes. PostgreSQL can then keep the new row version on the same page without touching any of the
ledger's eight indexes (a heap-only update), but only if the page has room: at the default fill of 100 % a
county-wide first run leaves none. Measured on 385,003 warnings, 4,052 of them given new evidence in one UPDATE:
none heap-only and 392 ms at 100 %; all 4,052 heap-only and 263 ms at 85 %. The price is 15 % more pages (the
insert itself measured the same). Pages already written keep their fill until rewritten. SQLite has no fill factor.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2710'
down_revision: str | Sequence[str] | None = '2700'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE monitoring_warnings SET (fillfactor = 85)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE monitoring_warnings RESET (fillfactor)")
