"""monitoring: the application a discovery lead became

Revision ID: 0410
Revises: 0800
Create Date: 2026-12-05 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0410'
down_revision: str | Sequence[str] | None = '0800'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('monitoring_warnings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_monitoring_warnings_case_id_cases', 'cases', ['case_id'], ['id'])
        batch_op.create_index('ix_monitoring_warnings_case_id', ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('monitoring_warnings', schema=None) as batch_op:
        batch_op.drop_index('ix_monitoring_warnings_case_id')
        batch_op.drop_constraint('fk_monitoring_warnings_case_id_cases', type_='foreignkey')
        batch_op.drop_column('case_id')
