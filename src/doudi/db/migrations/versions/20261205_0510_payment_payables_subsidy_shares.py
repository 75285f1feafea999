"""payments: provider payables link their care settlement; price-subsidy shares paid once per person and month;
line status updated in place (no status index, free space on PostgreSQL pages)

Revision ID: 0510
Revises: 0900
Create Date: 2026-12-05 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0510'
down_revision: str | Sequence[str] | None = '0900'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payment_lines_settlement_id'), ['settlement_id'])
        batch_op.drop_index(batch_op.f('ix_payment_lines_status'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE payment_lines SET (fillfactor = 50)')
    op.create_table('payment_subsidy_shares',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('via_program', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['payment_lines.id'], name=op.f('fk_payment_subsidy_shares_line_id_payment_lines'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_subsidy_shares')),
    sa.UniqueConstraint('person_id', 'month', name='uq_payment_subsidy_shares_once')
    )
    with op.batch_alter_table('payment_subsidy_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_subsidy_shares_line_id'), ['line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_subsidy_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_subsidy_shares_line_id'))
    op.drop_table('payment_subsidy_shares')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE payment_lines RESET (fillfactor)')
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_lines_status'), ['status'], unique=False)
        batch_op.drop_constraint(batch_op.f('uq_payment_lines_settlement_id'), type_='unique')
        batch_op.drop_column('settlement_id')
