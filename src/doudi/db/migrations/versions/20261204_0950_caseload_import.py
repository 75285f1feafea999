"""caseload import: fact keys and provenance, dated memberships, migrated enrollments

Revision ID: 0950
Revises: 0400
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0950'
down_revision: str | Sequence[str] | None = '0400'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ('income_facts', 'asset_facts', 'expense_facts', 'living_conditions')
CURRENT = "fact_key IS NOT NULL AND superseded_by IS NULL"


def upgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('fact_key', sa.String(length=240), nullable=True))
            batch_op.add_column(sa.Column('investigator', sa.String(length=64), server_default='', nullable=False))
            batch_op.add_column(sa.Column('investigated_on', sa.Date(), nullable=True))
            if table == 'asset_facts':
                batch_op.add_column(sa.Column('certificate_no', sa.String(length=64), nullable=True))
        op.create_index(f'uq_{table}_fact_key_current', table, ['fact_key'], unique=True,
                        postgresql_where=sa.text(CURRENT), sqlite_where=sa.text(CURRENT))
    # Memberships registered before this revision were dated by their import: their dates are known.
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from_known', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        'migrated_enrollments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('legacy_key', sa.String(length=80), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('row_number', sa.Integer(), nullable=False),
        sa.Column('decision_date', sa.Date(), nullable=True),
        sa.Column('decision_no', sa.String(length=64), nullable=False),
        sa.Column('support_mode', sa.String(length=16), nullable=True),
        sa.Column('start_known', sa.Boolean(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.CheckConstraint("support_mode is null or support_mode in ('centralized','dispersed')",
                           name=op.f('ck_migrated_enrollments_support_mode')),
        sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'],
                                name=op.f('fk_migrated_enrollments_batch_id_ingest_batches')),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], ondelete='CASCADE',
                                name=op.f('fk_migrated_enrollments_enrollment_id_enrollments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_migrated_enrollments')),
        sa.UniqueConstraint('enrollment_id', name=op.f('uq_migrated_enrollments_enrollment_id')),
        sa.UniqueConstraint('legacy_key', name=op.f('uq_migrated_enrollments_legacy_key')),
    )
    op.create_index(op.f('ix_migrated_enrollments_batch_id'), 'migrated_enrollments', ['batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_migrated_enrollments_batch_id'), table_name='migrated_enrollments')
    op.drop_table('migrated_enrollments')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('valid_from_known')
    for table in FACT_TABLES:
        op.drop_index(f'uq_{table}_fact_key_current', table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'asset_facts':
                batch_op.drop_column('certificate_no')
            batch_op.drop_column('investigated_on')
            batch_op.drop_column('investigator')
            batch_op.drop_column('fact_key')
