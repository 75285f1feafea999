"""registry: fact keys compared in byte order on PostgreSQL

Revision ID: 2500
Revises: 1400
Create Date: 2026-12-06 01:00:00.000000

A fact's natural key is matched (re-import, correction), never shown sorted: under the database's language
collation its unique index costs about twice as much to build and to search as in byte order. Equality is the
same under both (a deterministic collation), so every existing key keeps its meaning. SQLite compares bytes already.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '2500'
down_revision: str | Sequence[str] | None = '1400'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ('income_facts', 'asset_facts', 'expense_facts', 'living_conditions')


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in FACT_TABLES:  # the unique index on current keys is rebuilt with its column
        op.alter_column(table, 'fact_key', existing_type=sa.String(length=240),
                        type_=sa.String(length=240, collation=collation), existing_nullable=True)


def upgrade() -> None:
    _collate('C')


def downgrade() -> None:
    _collate(None)
