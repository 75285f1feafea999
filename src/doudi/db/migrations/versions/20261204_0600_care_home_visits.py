"""care: self-care assessments, entitlements, providers, caregivers, verified visits, feedback, settlements

Revision ID: 0600
Revises: 0500
Create Date: 2026-12-04 22:07:17.732101
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0600'
down_revision: str | Sequence[str] | None = '0500'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('care_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('contract_no', sa.String(length=40), nullable=False),
    sa.Column('contract_from', sa.Date(), nullable=False),
    sa.Column('contract_to', sa.Date(), nullable=False),
    sa.Column('townships', sa.JSON(), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('contract_to >= contract_from', name=op.f('ck_care_providers_period')),
    sa.CheckConstraint('hourly_rate > 0', name=op.f('ck_care_providers_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_providers')),
    sa.UniqueConstraint('key', name=op.f('uq_care_providers_key'))
    )
    with op.batch_alter_table('care_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_providers_area_code'), ['area_code'], unique=False)

    op.create_table('care_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('provider_key', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind in ('return_visit','complaint')", name=op.f('ck_care_feedback_kind')),
    sa.CheckConstraint("status in ('open','closed')", name=op.f('ck_care_feedback_status')),
    sa.CheckConstraint('satisfaction is null or satisfaction between 1 and 5', name=op.f('ck_care_feedback_satisfaction')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_feedback_person_id_persons')),
    sa.ForeignKeyConstraint(['provider_id'], ['care_providers.id'], name=op.f('fk_care_feedback_provider_id_care_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_feedback'))
    )
    with op.batch_alter_table('care_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_feedback_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_feedback_person_id'), ['person_id'], unique=False)

    op.create_table('care_settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('provider_key', sa.String(length=64), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('paid_minutes', sa.Integer(), nullable=False),
    sa.Column('unpaid_visits', sa.Integer(), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("status in ('draft','confirmed')", name=op.f('ck_care_settlements_status')),
    sa.CheckConstraint('amount_fen >= 0 and paid_minutes >= 0', name=op.f('ck_care_settlements_amounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['care_providers.id'], name=op.f('fk_care_settlements_provider_id_care_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_settlements')),
    sa.UniqueConstraint('provider_id', 'month', name='uq_care_settlements_provider_month')
    )
    with op.batch_alter_table('care_settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlements_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_settlements_provider_id'), ['provider_id'], unique=False)

    op.create_table('care_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessor', sa.String(length=64), nullable=False),
    sa.Column('assessor_id', sa.Integer(), nullable=True),
    sa.Column('eating', sa.Boolean(), nullable=False),
    sa.Column('dressing', sa.Boolean(), nullable=False),
    sa.Column('bed_transfer', sa.Boolean(), nullable=False),
    sa.Column('toileting', sa.Boolean(), nullable=False),
    sa.Column('indoor_walking', sa.Boolean(), nullable=False),
    sa.Column('bathing', sa.Boolean(), nullable=False),
    sa.Column('unable_items', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('effective_month', sa.Date(), nullable=False),
    sa.Column('previous_level', sa.String(length=16), nullable=True),
    sa.Column('next_due_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("level in ('self_care','partial','full')", name=op.f('ck_care_assessments_level')),
    sa.CheckConstraint("trigger in ('initial','monitoring','caregiver','yearly')", name=op.f('ck_care_assessments_trigger')),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_care_assessments_hours')),
    sa.CheckConstraint('unable_items between 0 and 6', name=op.f('ck_care_assessments_unable_items')),
    sa.ForeignKeyConstraint(['assessor_id'], ['users.id'], name=op.f('fk_care_assessments_assessor_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_assessments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_assessments'))
    )
    with op.batch_alter_table('care_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_assessments_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_assessments_next_due_on'), ['next_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_assessments_person_id'), ['person_id'], unique=False)

    op.create_table('care_caregivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['care_providers.id'], name=op.f('fk_care_caregivers_provider_id_care_providers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_care_caregivers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_caregivers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_care_caregivers_user_id'))
    )
    with op.batch_alter_table('care_caregivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_caregivers_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_caregivers_provider_id'), ['provider_id'], unique=False)

    op.create_table('care_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('provider_key', sa.String(length=64), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('coords_source', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_care_recipients_household_id_households')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_recipients_person_id_persons')),
    sa.ForeignKeyConstraint(['provider_id'], ['care_providers.id'], name=op.f('fk_care_recipients_provider_id_care_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_recipients')),
    sa.UniqueConstraint('person_id', name=op.f('uq_care_recipients_person_id'))
    )
    with op.batch_alter_table('care_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_recipients_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_recipients_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_recipients_provider_key'), ['provider_key'], unique=False)

    op.create_table('care_settlement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('verified_minutes', sa.Integer(), nullable=False),
    sa.Column('entitled_minutes', sa.Integer(), nullable=False),
    sa.Column('paid_minutes', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_settlement_lines_person_id_persons')),
    sa.ForeignKeyConstraint(['settlement_id'], ['care_settlements.id'], name=op.f('fk_care_settlement_lines_settlement_id_care_settlements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_settlement_lines')),
    sa.UniqueConstraint('settlement_id', 'person_id', name='uq_care_settlement_lines_person')
    )
    with op.batch_alter_table('care_settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_lines_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('care_reassessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_assessment_id', sa.Integer(), nullable=True),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("trigger in ('initial','monitoring','caregiver','yearly')", name=op.f('ck_care_reassessments_trigger')),
    sa.ForeignKeyConstraint(['done_assessment_id'], ['care_assessments.id'], name=op.f('fk_care_reassessments_done_assessment_id_care_assessments')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_reassessments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_reassessments'))
    )
    with op.batch_alter_table('care_reassessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_reassessments_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_reassessments_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_reassessments_person_id'), ['person_id'], unique=False)

    op.create_table('care_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('provider_key', sa.String(length=64), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=24), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('planned_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('check_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_lat', sa.Float(), nullable=True),
    sa.Column('in_lon', sa.Float(), nullable=True),
    sa.Column('out_lat', sa.Float(), nullable=True),
    sa.Column('out_lon', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('counted_minutes', sa.Integer(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('services_done', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photo', sa.String(length=200), nullable=True),
    sa.Column('check_in_key', sa.String(length=64), nullable=True),
    sa.Column('check_out_key', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('scheduled','in_progress','verified','flagged','accepted','rejected','missed','cancelled')", name=op.f('ck_care_visits_status')),
    sa.CheckConstraint('check_out_at is null or (check_in_at is not null and check_out_at > check_in_at)', name=op.f('ck_care_visits_times')),
    sa.CheckConstraint('planned_end > planned_start and planned_minutes > 0', name=op.f('ck_care_visits_planned')),
    sa.ForeignKeyConstraint(['caregiver_id'], ['care_caregivers.id'], name=op.f('fk_care_visits_caregiver_id_care_caregivers')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_visits_person_id_persons')),
    sa.ForeignKeyConstraint(['provider_id'], ['care_providers.id'], name=op.f('fk_care_visits_provider_id_care_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visits')),
    sa.UniqueConstraint('check_in_key', name=op.f('uq_care_visits_check_in_key')),
    sa.UniqueConstraint('check_out_key', name=op.f('uq_care_visits_check_out_key'))
    )
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_visits_area_code'), ['area_code'], unique=False)
        batch_op.create_index('ix_care_visits_caregiver_day', ['caregiver_id', 'visit_date'], unique=False)
        batch_op.create_index('ix_care_visits_day_status', ['visit_date', 'status'], unique=False)
        batch_op.create_index('ix_care_visits_person_day', ['person_id', 'visit_date'], unique=False)
        batch_op.create_index('ix_care_visits_provider_day', ['provider_id', 'visit_date'], unique=False)

    op.create_table('care_entitlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('from_month', sa.Date(), nullable=False),
    sa.Column('to_month', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('end_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("level in ('self_care','partial','full')", name=op.f('ck_care_entitlements_level')),
    sa.CheckConstraint("status in ('active','ended')", name=op.f('ck_care_entitlements_status')),
    sa.CheckConstraint('to_month is null or to_month > from_month', name=op.f('ck_care_entitlements_period')),
    sa.ForeignKeyConstraint(['assessment_id'], ['care_assessments.id'], name=op.f('fk_care_entitlements_assessment_id_care_assessments')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_care_entitlements_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_entitlements_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_entitlements')),
    sa.UniqueConstraint('person_id', 'from_month', name='uq_care_entitlements_person_month')
    )
    with op.batch_alter_table('care_entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_entitlements_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_entitlements_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_entitlements_person_id'), ['person_id'], unique=False)

    op.create_table('care_settlement_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['care_settlements.id'], name=op.f('fk_care_settlement_visits_settlement_id_care_settlements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['care_visits.id'], name=op.f('fk_care_settlement_visits_visit_id_care_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_settlement_visits')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_care_settlement_visits_visit_id'))
    )
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_settlement_visits_settlement_id'), ['settlement_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('care_settlement_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_settlement_visits_settlement_id'))

    op.drop_table('care_settlement_visits')
    with op.batch_alter_table('care_entitlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_entitlements_person_id'))
        batch_op.drop_index(batch_op.f('ix_care_entitlements_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_care_entitlements_area_code'))

    op.drop_table('care_entitlements')
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_care_visits_provider_day')
        batch_op.drop_index('ix_care_visits_person_day')
        batch_op.drop_index('ix_care_visits_day_status')
        batch_op.drop_index('ix_care_visits_caregiver_day')
        batch_op.drop_index(batch_op.f('ix_care_visits_area_code'))

    op.drop_table('care_visits')
    with op.batch_alter_table('care_reassessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_reassessments_person_id'))
        batch_op.drop_index(batch_op.f('ix_care_reassessments_due_on'))
        batch_op.drop_index(batch_op.f('ix_care_reassessments_area_code'))

    op.drop_table('care_reassessments')
    with op.batch_alter_table('care_settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_settlement_lines_settlement_id'))

    op.drop_table('care_settlement_lines')
    with op.batch_alter_table('care_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_recipients_provider_key'))
        batch_op.drop_index(batch_op.f('ix_care_recipients_provider_id'))
        batch_op.drop_index(batch_op.f('ix_care_recipients_area_code'))

    op.drop_table('care_recipients')
    with op.batch_alter_table('care_caregivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_caregivers_provider_id'))
        batch_op.drop_index(batch_op.f('ix_care_caregivers_area_code'))

    op.drop_table('care_caregivers')
    with op.batch_alter_table('care_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_assessments_person_id'))
        batch_op.drop_index(batch_op.f('ix_care_assessments_next_due_on'))
        batch_op.drop_index(batch_op.f('ix_care_assessments_area_code'))

    op.drop_table('care_assessments')
    with op.batch_alter_table('care_settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_settlements_provider_id'))
        batch_op.drop_index(batch_op.f('ix_care_settlements_area_code'))

    op.drop_table('care_settlements')
    with op.batch_alter_table('care_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_feedback_person_id'))
        batch_op.drop_index(batch_op.f('ix_care_feedback_area_code'))

    op.drop_table('care_feedback')
    with op.batch_alter_table('care_providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_providers_area_code'))

    op.drop_table('care_providers')
