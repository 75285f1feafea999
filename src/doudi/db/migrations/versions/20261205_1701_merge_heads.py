"""merge: the heads that branched from 1000 (charity 1100, payments 1300, case steps index 1700) into one

Revision ID: 1701
Revises: 1100, 1300, 1700
Create Date: 2026-12-05 22:45:00.000000

Nothing to change: each branch's migration touches its own tables. Drop this file when the three are chained.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '1701'
down_revision: str | Sequence[str] | None = ('1100', '1300', '1700')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
