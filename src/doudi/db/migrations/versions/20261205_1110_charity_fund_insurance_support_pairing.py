"""charity: the fund (donations, grants, movement ledger), group insurance, support plans and pairing

Revision ID: 1110
Revises: 1200
Create Date: 2026-12-05 21:30:00.000000

A partner is referenced by its key (partner_key), as partner accounts name their organisation; a need by
its id in the charity core's table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1110'
down_revision: str | Sequence[str] | None = '1200'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charity_fund_donations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('receipt_no', sa.String(length=40), nullable=False),
    sa.Column('donor_name', sa.String(length=100), nullable=False),
    sa.Column('donor_kind', sa.String(length=12), nullable=False),
    sa.Column('donor_contact', sa.String(length=40), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('restrictions', sa.String(length=300), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("donor_kind in ('person', 'company', 'anonymous')", name=op.f('ck_charity_fund_donations_donor_kind')),
    sa.CheckConstraint("purpose in ('general', 'one_off_aid', 'insurance', 'accessibility', 'medical', 'education')", name=op.f('ck_charity_fund_donations_purpose')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_charity_fund_donations_amount')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_fund_donations')),
    sa.UniqueConstraint('receipt_no', name='uq_charity_fund_donations_receipt')
    )
    with op.batch_alter_table('charity_fund_donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_fund_donations_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_donations_received_on'), ['received_on'], unique=False)

    op.create_table('charity_insurance_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('policy_no', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('coverage', sa.String(length=300), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('premium_fen', sa.BigInteger(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('draft', 'paid', 'closed')", name=op.f('ck_charity_insurance_policies_status')),
    sa.CheckConstraint('premium_fen > 0 and end_on > start_on', name=op.f('ck_charity_insurance_policies_terms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_insurance_policies')),
    sa.UniqueConstraint('policy_no', name=op.f('uq_charity_insurance_policies_policy_no'))
    )
    with op.batch_alter_table('charity_insurance_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_insurance_policies_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_policies_status'), ['status'], unique=False)

    op.create_table('charity_insurance_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('program', sa.String(length=32), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_insurance_members_household_id_households')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_charity_insurance_members_person_id_persons')),
    sa.ForeignKeyConstraint(['policy_id'], ['charity_insurance_policies.id'], name=op.f('fk_charity_insurance_members_policy_id_charity_insurance_policies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_insurance_members')),
    sa.UniqueConstraint('policy_id', 'person_id', name='uq_charity_insurance_members_once')
    )
    with op.batch_alter_table('charity_insurance_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_insurance_members_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_members_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_members_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_members_policy_id'), ['policy_id'], unique=False)

    op.create_table('charity_pairings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_key', sa.String(length=64), nullable=False),
    sa.Column('company_name', sa.String(length=100), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('pledge', sa.String(length=300), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('active', 'ended')", name=op.f('ck_charity_pairings_status')),
    sa.CheckConstraint('end_on >= start_on', name=op.f('ck_charity_pairings_period')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_pairings_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_pairings')),
    sa.UniqueConstraint('partner_key', 'household_id', 'start_on', name='uq_charity_pairings_once')
    )
    with op.batch_alter_table('charity_pairings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_pairings_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairings_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairings_partner_key'), ['partner_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairings_status'), ['status'], unique=False)

    op.create_table('charity_support_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('worker_name', sa.String(length=64), nullable=False),
    sa.Column('worker_phone', sa.String(length=20), nullable=False),
    sa.Column('partner_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closure', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('open', 'closed')", name=op.f('ck_charity_support_plans_status')),
    sa.ForeignKeyConstraint(['need_id'], ['charity_needs.id'], name=op.f('fk_charity_support_plans_need_id_charity_needs')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_support_plans_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_support_plans'))
    )
    with op.batch_alter_table('charity_support_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_support_plans_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_plans_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_plans_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_plans_partner_key'), ['partner_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_plans_status'), ['status'], unique=False)
        batch_op.create_index('uq_charity_support_plans_open', ['household_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('charity_fund_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('pool', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('made_by', sa.Integer(), nullable=True),
    sa.Column('made_by_name', sa.String(length=64), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("pool = purpose or pool = 'general'", name=op.f('ck_charity_fund_grants_pool')),
    sa.CheckConstraint("purpose in ('general', 'one_off_aid', 'insurance', 'accessibility', 'medical', 'education')", name=op.f('ck_charity_fund_grants_purpose')),
    sa.CheckConstraint("status in ('pending', 'approved', 'rejected')", name=op.f('ck_charity_fund_grants_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_charity_fund_grants_amount')),
    sa.CheckConstraint('case_id is not null or household_id is not null or policy_id is not null', name=op.f('ck_charity_fund_grants_target')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_charity_fund_grants_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_charity_fund_grants_decided_by_users')),
    sa.ForeignKeyConstraint(['need_id'], ['charity_needs.id'], name=op.f('fk_charity_fund_grants_need_id_charity_needs')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_fund_grants_household_id_households')),
    sa.ForeignKeyConstraint(['made_by'], ['users.id'], name=op.f('fk_charity_fund_grants_made_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_fund_grants'))
    )
    with op.batch_alter_table('charity_fund_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_fund_grants_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_grants_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_grants_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_grants_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_grants_status'), ['status'], unique=False)
        batch_op.create_index('uq_charity_fund_grants_policy', ['policy_id'], unique=True, sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))

    op.create_table('charity_insurance_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('claim_no', sa.String(length=40), nullable=False),
    sa.Column('incident_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('claimed_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('filed', 'paid', 'refused')", name=op.f('ck_charity_insurance_claims_status')),
    sa.CheckConstraint('claimed_fen > 0 and paid_fen >= 0 and paid_fen <= claimed_fen', name=op.f('ck_charity_insurance_claims_amounts')),
    sa.ForeignKeyConstraint(['member_id'], ['charity_insurance_members.id'], name=op.f('fk_charity_insurance_claims_member_id_charity_insurance_members')),
    sa.ForeignKeyConstraint(['policy_id'], ['charity_insurance_policies.id'], name=op.f('fk_charity_insurance_claims_policy_id_charity_insurance_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_insurance_claims')),
    sa.UniqueConstraint('claim_no', name=op.f('uq_charity_insurance_claims_claim_no'))
    )
    with op.batch_alter_table('charity_insurance_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_insurance_claims_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_claims_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_insurance_claims_policy_id'), ['policy_id'], unique=False)

    op.create_table('charity_pairing_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pairing_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('delivery_note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'delivered') = (delivered_on is not null)", name=op.f('ck_charity_pairing_items_delivered')),
    sa.CheckConstraint("kind in ('cash', 'goods', 'service', 'job')", name=op.f('ck_charity_pairing_items_kind')),
    sa.CheckConstraint("status in ('pledged', 'delivered')", name=op.f('ck_charity_pairing_items_status')),
    sa.CheckConstraint('value_fen >= 0', name=op.f('ck_charity_pairing_items_value')),
    sa.ForeignKeyConstraint(['pairing_id'], ['charity_pairings.id'], name=op.f('fk_charity_pairing_items_pairing_id_charity_pairings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_pairing_items'))
    )
    with op.batch_alter_table('charity_pairing_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_pairing_items_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairing_items_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairing_items_pairing_id'), ['pairing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_pairing_items_status'), ['status'], unique=False)

    op.create_table('charity_support_goals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=12), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.String(length=300), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.CheckConstraint("area in ('income', 'health', 'education', 'employment')", name=op.f('ck_charity_support_goals_area')),
    sa.CheckConstraint("status in ('open', 'met', 'not_met')", name=op.f('ck_charity_support_goals_status')),
    sa.ForeignKeyConstraint(['plan_id'], ['charity_support_plans.id'], name=op.f('fk_charity_support_goals_plan_id_charity_support_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_support_goals'))
    )
    with op.batch_alter_table('charity_support_goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_support_goals_plan_id'), ['plan_id'], unique=False)

    op.create_table('charity_support_trainings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('course', sa.String(length=100), nullable=False),
    sa.Column('partner_key', sa.String(length=64), nullable=True),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('employer', sa.String(length=100), nullable=False),
    sa.Column('monthly_wage_fen', sa.BigInteger(), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('review_warning_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('referred', 'trained', 'employed', 'not_employed')", name=op.f('ck_charity_support_trainings_status')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_charity_support_trainings_person_id_persons')),
    sa.ForeignKeyConstraint(['plan_id'], ['charity_support_plans.id'], name=op.f('fk_charity_support_trainings_plan_id_charity_support_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_support_trainings')),
    sa.UniqueConstraint('plan_id', 'person_id', 'course', name='uq_charity_support_trainings_once')
    )
    with op.batch_alter_table('charity_support_trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_support_trainings_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_trainings_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_trainings_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_support_trainings_status'), ['status'], unique=False)

    op.create_table('charity_support_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['charity_support_plans.id'], name=op.f('fk_charity_support_visits_plan_id_charity_support_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_support_visits')),
    sa.UniqueConstraint('plan_id', 'visited_on', 'visitor', name='uq_charity_support_visits_once')
    )
    with op.batch_alter_table('charity_support_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_support_visits_plan_id'), ['plan_id'], unique=False)

    op.create_table('charity_fund_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('pool', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('delta_fen', sa.BigInteger(), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('donation_id', sa.Integer(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("(kind = 'donation' and delta_fen > 0 and donation_id is not null) or (kind = 'grant' and delta_fen < 0 and grant_id is not null)", name=op.f('ck_charity_fund_movements_sign')),
    sa.CheckConstraint("kind in ('donation', 'grant')", name=op.f('ck_charity_fund_movements_kind')),
    sa.CheckConstraint("pool in ('general', 'one_off_aid', 'insurance', 'accessibility', 'medical', 'education')", name=op.f('ck_charity_fund_movements_pool')),
    sa.CheckConstraint('balance_fen >= 0', name=op.f('ck_charity_fund_movements_balance')),
    sa.ForeignKeyConstraint(['donation_id'], ['charity_fund_donations.id'], name=op.f('fk_charity_fund_movements_donation_id_charity_fund_donations')),
    sa.ForeignKeyConstraint(['grant_id'], ['charity_fund_grants.id'], name=op.f('fk_charity_fund_movements_grant_id_charity_fund_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_fund_movements')),
    sa.UniqueConstraint('area_code', 'pool', 'seq', name='uq_charity_fund_movements_seq'),
    sa.UniqueConstraint('donation_id', name=op.f('uq_charity_fund_movements_donation_id')),
    sa.UniqueConstraint('grant_id', name=op.f('uq_charity_fund_movements_grant_id'))
    )
    with op.batch_alter_table('charity_fund_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_fund_movements_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_fund_movements_month'), ['month'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('charity_fund_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_fund_movements_month'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_movements_area_code'))

    op.drop_table('charity_fund_movements')
    with op.batch_alter_table('charity_support_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_support_visits_plan_id'))

    op.drop_table('charity_support_visits')
    with op.batch_alter_table('charity_support_trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_support_trainings_status'))
        batch_op.drop_index(batch_op.f('ix_charity_support_trainings_plan_id'))
        batch_op.drop_index(batch_op.f('ix_charity_support_trainings_person_id'))
        batch_op.drop_index(batch_op.f('ix_charity_support_trainings_area_code'))

    op.drop_table('charity_support_trainings')
    with op.batch_alter_table('charity_support_goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_support_goals_plan_id'))

    op.drop_table('charity_support_goals')
    with op.batch_alter_table('charity_pairing_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_pairing_items_status'))
        batch_op.drop_index(batch_op.f('ix_charity_pairing_items_pairing_id'))
        batch_op.drop_index(batch_op.f('ix_charity_pairing_items_due_on'))
        batch_op.drop_index(batch_op.f('ix_charity_pairing_items_area_code'))

    op.drop_table('charity_pairing_items')
    with op.batch_alter_table('charity_insurance_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_insurance_claims_policy_id'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_claims_member_id'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_claims_area_code'))

    op.drop_table('charity_insurance_claims')
    with op.batch_alter_table('charity_fund_grants', schema=None) as batch_op:
        batch_op.drop_index('uq_charity_fund_grants_policy', sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))
        batch_op.drop_index(batch_op.f('ix_charity_fund_grants_status'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_grants_need_id'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_grants_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_grants_case_id'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_grants_area_code'))

    op.drop_table('charity_fund_grants')
    with op.batch_alter_table('charity_support_plans', schema=None) as batch_op:
        batch_op.drop_index('uq_charity_support_plans_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_charity_support_plans_status'))
        batch_op.drop_index(batch_op.f('ix_charity_support_plans_partner_key'))
        batch_op.drop_index(batch_op.f('ix_charity_support_plans_need_id'))
        batch_op.drop_index(batch_op.f('ix_charity_support_plans_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_support_plans_area_code'))

    op.drop_table('charity_support_plans')
    with op.batch_alter_table('charity_pairings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_pairings_status'))
        batch_op.drop_index(batch_op.f('ix_charity_pairings_partner_key'))
        batch_op.drop_index(batch_op.f('ix_charity_pairings_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_pairings_area_code'))

    op.drop_table('charity_pairings')
    with op.batch_alter_table('charity_insurance_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_insurance_members_policy_id'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_members_person_id'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_members_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_members_area_code'))

    op.drop_table('charity_insurance_members')
    with op.batch_alter_table('charity_insurance_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_insurance_policies_status'))
        batch_op.drop_index(batch_op.f('ix_charity_insurance_policies_area_code'))

    op.drop_table('charity_insurance_policies')
    with op.batch_alter_table('charity_fund_donations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_fund_donations_received_on'))
        batch_op.drop_index(batch_op.f('ix_charity_fund_donations_area_code'))

    op.drop_table('charity_fund_donations')
