"""monitoring: comparison runs, compared feed batches, the warning ledger and referrals

Revision ID: 0400
Revises: 0300
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0400'
down_revision: str | Sequence[str] | None = '0300'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WARNING_STATUS = "status in ('new', 'assigned', 'verifying', 'disposed', 'closed')"
LEVEL = "level in ('red', 'orange', 'yellow')"
DISPOSITION = "disposition is null or disposition in ('no_action', 'review', 'application', 'suspend', 'refer')"


def upgrade() -> None:
    op.create_table(
        'monitoring_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_on', sa.Date(), nullable=False),
        sa.Column('area_code', sa.String(length=12), nullable=False),
        sa.Column('pack_version', sa.String(length=40), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('batches', sa.JSON(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_runs')),
    )
    op.create_table(
        'monitoring_compared_batches',
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.id'],
                                name=op.f('fk_monitoring_compared_batches_batch_id_ingest_batches')),
        sa.ForeignKeyConstraint(['run_id'], ['monitoring_runs.id'],
                                name=op.f('fk_monitoring_compared_batches_run_id_monitoring_runs')),
        sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_monitoring_compared_batches')),
    )
    op.create_index(op.f('ix_monitoring_compared_batches_run_id'), 'monitoring_compared_batches', ['run_id'])
    op.create_table(
        'monitoring_warnings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_key', sa.String(length=32), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('discovery', sa.Boolean(), nullable=False),
        sa.Column('subject_key', sa.String(length=40), nullable=False),
        sa.Column('open_key', sa.String(length=80), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('area_code', sa.String(length=12), nullable=False),
        sa.Column('person_name', sa.String(length=64), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('pack_version', sa.String(length=40), nullable=False),
        sa.Column('first_seen_on', sa.Date(), nullable=False),
        sa.Column('last_seen_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('disposition', sa.String(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('disposed_on', sa.Date(), nullable=True),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint(WARNING_STATUS, name=op.f('ck_monitoring_warnings_status')),
        sa.CheckConstraint(LEVEL, name=op.f('ck_monitoring_warnings_level')),
        sa.CheckConstraint(DISPOSITION, name=op.f('ck_monitoring_warnings_disposition')),
        sa.CheckConstraint("(status = 'closed') = (open_key is null)", name=op.f('ck_monitoring_warnings_open_key')),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_monitoring_warnings_person_id_persons')),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'],
                                name=op.f('fk_monitoring_warnings_household_id_households')),
        sa.ForeignKeyConstraint(['run_id'], ['monitoring_runs.id'],
                                name=op.f('fk_monitoring_warnings_run_id_monitoring_runs')),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_monitoring_warnings_assignee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_warnings')),
        sa.UniqueConstraint('open_key', name=op.f('uq_monitoring_warnings_open_key')),
    )
    for column in ('rule_key', 'status', 'person_id', 'household_id', 'area_code', 'due_on'):
        op.create_index(op.f(f'ix_monitoring_warnings_{column}'), 'monitoring_warnings', [column])
    op.create_index('ix_monitoring_warnings_rule_subject', 'monitoring_warnings', ['rule_key', 'subject_key'])
    op.create_table(
        'monitoring_referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('warning_id', sa.Integer(), nullable=True),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('area_code', sa.String(length=12), nullable=False),
        sa.Column('target_kind', sa.String(length=8), nullable=False),
        sa.Column('target_key', sa.String(length=32), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('acknowledged_on', sa.Date(), nullable=True),
        sa.Column('answered_on', sa.Date(), nullable=True),
        sa.Column('result', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint("target_kind in ('agency', 'partner')", name=op.f('ck_monitoring_referrals_target_kind')),
        sa.CheckConstraint("status in ('sent', 'acknowledged', 'answered', 'withdrawn')",
                           name=op.f('ck_monitoring_referrals_status')),
        sa.ForeignKeyConstraint(['warning_id'], ['monitoring_warnings.id'],
                                name=op.f('fk_monitoring_referrals_warning_id_monitoring_warnings')),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'],
                                name=op.f('fk_monitoring_referrals_household_id_households')),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_monitoring_referrals_person_id_persons')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_referrals')),
    )
    for column in ('warning_id', 'household_id', 'area_code', 'target_key', 'status', 'due_on'):
        op.create_index(op.f(f'ix_monitoring_referrals_{column}'), 'monitoring_referrals', [column])


def downgrade() -> None:
    op.drop_table('monitoring_referrals')
    op.drop_table('monitoring_warnings')
    op.drop_table('monitoring_compared_batches')
    op.drop_table('monitoring_runs')
