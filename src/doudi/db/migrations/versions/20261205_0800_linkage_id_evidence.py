"""linkage: review kind (possible double registration), ID comparison kind and evidence; stored models

Revision ID: 0800
Revises: 0610
Create Date: 2026-12-05 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0800'
down_revision: str | Sequence[str] | None = '0610'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('link_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=24), server_default='match', nullable=False))
        batch_op.add_column(sa.Column('id_kind', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('evidence', sa.Text(), server_default='{}', nullable=False))
        batch_op.create_check_constraint(op.f('ck_link_reviews_kind'), "kind in ('match','double_registration')")
    op.create_table(
        'linkage_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_key', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('model_version', sa.String(length=32), nullable=False),
        sa.Column('records', sa.Integer(), nullable=False),
        sa.Column('labels', sa.Integer(), nullable=False),
        sa.Column('settings', sa.Text(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_models')),
        sa.UniqueConstraint('source_key', 'version', name='uq_linkage_models_source_version'),
    )


def downgrade() -> None:
    op.drop_table('linkage_models')
    with op.batch_alter_table('link_reviews', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_link_reviews_kind'), type_='check')
        batch_op.drop_column('evidence')
        batch_op.drop_column('id_kind')
        batch_op.drop_column('kind')
