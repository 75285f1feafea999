"""decision overrides, feed ownership and duplicates, versions on every state-changing table

Revision ID: 0310
Revises: 0100
Create Date: 2026-12-04 09:00:00

Existing data is kept: new columns have defaults, every existing row starts at version 1, and feed batches
stored with the placeholder area 000000 or none (ingested from the command line before areas were required) are
marked national, which is how they were linked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0310'
down_revision: str | Sequence[str] | None = '0100'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('program_decisions') as batch:
        batch.add_column(sa.Column('override_reason', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('override_level', sa.String(length=12), server_default='', nullable=False))
    with op.batch_alter_table('ingest_batches') as batch:
        batch.add_column(sa.Column('national', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('rows_duplicate', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint('uq_batch_content', type_='unique')
        batch.create_unique_constraint('uq_batch_content', ['kind', 'source_key', 'file_sha256', 'area_code'])
    batches = sa.table('ingest_batches', sa.column('kind', sa.String), sa.column('area_code', sa.String),
                       sa.column('national', sa.Boolean))
    op.execute(batches.update().where(batches.c.kind == 'feed', sa.or_(batches.c.area_code == '000000',
                                                                        batches.c.area_code.is_(None)))
               .values(national=True))


def downgrade() -> None:
    with op.batch_alter_table('ingest_batches') as batch:
        batch.drop_constraint('uq_batch_content', type_='unique')
        batch.create_unique_constraint('uq_batch_content', ['kind', 'source_key', 'file_sha256'])
        batch.drop_column('rows_duplicate')
        batch.drop_column('national')
    with op.batch_alter_table('program_decisions') as batch:
        batch.drop_column('override_level')
        batch.drop_column('override_reason')
