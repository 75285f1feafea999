"""care: settled visits keyed by the visit (one index, no surrogate id, no foreign key to the visit)

Revision ID: 0610
Revises: 0510
Create Date: 2026-12-05 01:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0610'
down_revision: str | Sequence[str] | None = '0510'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('care_settlement_visits_new',
    sa.Column('visit_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['care_settlements.id'],
                            name=op.f('fk_care_settlement_visits_new_settlement_id_care_settlements'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_care_settlement_visits_new'))
    )
    op.execute('INSERT INTO care_settlement_visits_new (visit_id, settlement_id, minutes) '
               'SELECT visit_id, settlement_id, minutes FROM care_settlement_visits')
    op.drop_table('care_settlement_visits')
    op.rename_table('care_settlement_visits_new', 'care_settlement_visits')
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_visits_settlement_id'), ['settlement_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE care_settlement_visits RENAME CONSTRAINT pk_care_settlement_visits_new '
                   'TO pk_care_settlement_visits')
        op.execute('ALTER TABLE care_settlement_visits RENAME CONSTRAINT '
                   'fk_care_settlement_visits_new_settlement_id_care_settlements '
                   'TO fk_care_settlement_visits_settlement_id_care_settlements')


def downgrade() -> None:
    op.create_table('care_settlement_visits_old',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['care_settlements.id'],
                            name=op.f('fk_care_settlement_visits_settlement_id_care_settlements_old'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['care_visits.id'], name=op.f('fk_care_settlement_visits_visit_id_care_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_settlement_visits_old')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_care_settlement_visits_visit_id'))
    )
    op.execute('INSERT INTO care_settlement_visits_old (settlement_id, visit_id, minutes) '
               'SELECT settlement_id, visit_id, minutes FROM care_settlement_visits')
    op.drop_table('care_settlement_visits')
    op.rename_table('care_settlement_visits_old', 'care_settlement_visits')
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_visits_settlement_id'), ['settlement_id'], unique=False)
