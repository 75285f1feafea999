"""payments: payment lines keep only the indexes a read uses (household added; area, enrollment and the return rows'
line index dropped), the once-only key led by program and month, the settlement key partial; bank files record
the line-id range they carry

Revision ID: 1300
Revises: 1100
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1300'
down_revision: str | Sequence[str] | None = '1100'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_NULL = sa.text('settlement_id IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_lines_area_code'))
        batch_op.drop_index(batch_op.f('ix_payment_lines_enrollment_id'))
        batch_op.create_index(batch_op.f('ix_payment_lines_household_id'), ['household_id'], unique=False)
        batch_op.drop_constraint('uq_payment_lines_once', type_='unique')
        batch_op.create_unique_constraint('uq_payment_lines_once',
                                          ['program', 'entitlement_month', 'covers', 'payee_key'])
        batch_op.drop_constraint(batch_op.f('uq_payment_lines_settlement_id'), type_='unique')
    op.create_index('uq_payment_lines_settlement_id', 'payment_lines', ['settlement_id'], unique=True,
                    sqlite_where=NOT_NULL, postgresql_where=NOT_NULL)
    with op.batch_alter_table('payment_return_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_return_rows_line_id'))
    with op.batch_alter_table('payment_bank_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_line_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('last_line_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_bank_files', schema=None) as batch_op:
        batch_op.drop_column('last_line_id')
        batch_op.drop_column('first_line_id')
    with op.batch_alter_table('payment_return_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_return_rows_line_id'), ['line_id'], unique=False)
    op.drop_index('uq_payment_lines_settlement_id', table_name='payment_lines')
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_payment_lines_settlement_id'), ['settlement_id'])
        batch_op.drop_constraint('uq_payment_lines_once', type_='unique')
        batch_op.create_unique_constraint('uq_payment_lines_once',
                                          ['payee_key', 'program', 'covers', 'entitlement_month'])
        batch_op.drop_index(batch_op.f('ix_payment_lines_household_id'))
        batch_op.create_index(batch_op.f('ix_payment_lines_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lines_area_code'), ['area_code'], unique=False)
