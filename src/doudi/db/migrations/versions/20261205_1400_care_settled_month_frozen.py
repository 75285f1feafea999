"""care: a settled month is frozen, so its paid visits are its verified and accepted ones; no row per paid visit

Revision ID: 1400
Revises: 1700
Create Date: 2026-12-05 14:00:00.000000

The month end of a county wrote one row per paid visit (hundreds of thousands); the settlement of a provider and
month is unique and nothing changes a settled month's visits afterwards, which says the same. The settlement
lines lose their settlement index: the unique (settlement, person) index leads with the same column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1400'
down_revision: str | Sequence[str] | None = '1700'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('care_settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_settlement_lines_settlement_id'))
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_settlement_visits_settlement_id'))
    op.drop_table('care_settlement_visits')


def downgrade() -> None:
    with op.batch_alter_table('care_settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_lines_settlement_id'), ['settlement_id'], unique=False)
    op.create_table('care_settlement_visits',
    sa.Column('visit_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['care_settlements.id'],
                            name=op.f('fk_care_settlement_visits_settlement_id_care_settlements'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_care_settlement_visits'))
    )
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_visits_settlement_id'), ['settlement_id'], unique=False)
    visits = sa.table('care_visits', sa.column('id'), sa.column('provider_id'), sa.column('visit_date', sa.Date),
                      sa.column('status'), sa.column('counted_minutes'))
    settled = sa.table('care_settlements', sa.column('id'), sa.column('provider_id'), sa.column('month', sa.Date))
    paid = sa.table('care_settlement_visits', sa.column('visit_id'), sa.column('settlement_id'), sa.column('minutes'))
    # Rebuilt from the frozen months: the verified and accepted visits of each settled provider and month.
    rows = op.get_bind().execute(sa.select(settled.c.id, settled.c.provider_id, settled.c.month)).all()
    for sid, provider_id, month in rows:
        stop = month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
        op.execute(sa.insert(paid).from_select(
            ['visit_id', 'settlement_id', 'minutes'],
            sa.select(visits.c.id, sa.literal(sid), sa.func.coalesce(visits.c.counted_minutes, 0)).where(
                visits.c.provider_id == provider_id, visits.c.visit_date >= sa.literal(month, sa.Date),
                visits.c.visit_date < sa.literal(stop, sa.Date),
                visits.c.status.in_(['verified', 'accepted']))))
