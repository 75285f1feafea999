"""charity: the partner register, household consents, needs and the partners proposed for them

Revision ID: 1100
Revises: 1000
Create Date: 2026-12-05 21:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1100'
down_revision: str | Sequence[str] | None = '1000'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charity_partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contact', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('offers', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind in ('charity','social_work','company','community')", name=op.f('ck_charity_partners_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_partners')),
    sa.UniqueConstraint('key', name=op.f('uq_charity_partners_key'))
    )
    with op.batch_alter_table('charity_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_partners_area_code'), ['area_code'], unique=False)

    op.create_table('charity_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('signed_by', sa.String(length=64), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('file_path', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("method in ('form','portal')", name=op.f('ck_charity_consents_method')),
    sa.CheckConstraint("purpose in ('cash','goods','services','insurance','housing_repair','training','jobs')", name=op.f('ck_charity_consents_purpose')),
    sa.CheckConstraint("status in ('valid','withdrawn')", name=op.f('ck_charity_consents_status')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_consents_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_consents'))
    )
    with op.batch_alter_table('charity_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_consents_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_consents_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_consents_status'), ['status'], unique=False)

    op.create_table('charity_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=True),
    sa.Column('size', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('partner_key', sa.String(length=32), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('delivered_fen', sa.Integer(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind in ('cash','goods','services','insurance','housing_repair','training','jobs')", name=op.f('ck_charity_needs_kind')),
    sa.CheckConstraint("source in ('case','warning','lead','refusal','gap')", name=op.f('ck_charity_needs_source')),
    sa.CheckConstraint("status in ('open','proposed','matched','accepted','delivered','closed','declined','expired','escalated')", name=op.f('ck_charity_needs_status')),
    sa.ForeignKeyConstraint(['consent_id'], ['charity_consents.id'], name=op.f('fk_charity_needs_consent_id_charity_consents')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_needs_household_id_households')),
    sa.ForeignKeyConstraint(['referral_id'], ['monitoring_referrals.id'], name=op.f('fk_charity_needs_referral_id_monitoring_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_needs'))
    )
    with op.batch_alter_table('charity_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_needs_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_needs_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_needs_partner_key'), ['partner_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_needs_status'), ['status'], unique=False)

    op.create_table('charity_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('partner_key', sa.String(length=32), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind in ('cash','goods','services','insurance','housing_repair','training','jobs')", name=op.f('ck_charity_matches_kind')),
    sa.CheckConstraint("status in ('proposed','confirmed','accepted','delivered','declined','withdrawn','expired')", name=op.f('ck_charity_matches_status')),
    sa.ForeignKeyConstraint(['need_id'], ['charity_needs.id'], name=op.f('fk_charity_matches_need_id_charity_needs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_matches')),
    sa.UniqueConstraint('need_id', 'partner_key', name='uq_charity_matches_need_partner')
    )
    with op.batch_alter_table('charity_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_matches_partner_key'), ['partner_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_charity_matches_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('charity_matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_matches_status'))
        batch_op.drop_index(batch_op.f('ix_charity_matches_partner_key'))

    op.drop_table('charity_matches')
    with op.batch_alter_table('charity_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_needs_status'))
        batch_op.drop_index(batch_op.f('ix_charity_needs_partner_key'))
        batch_op.drop_index(batch_op.f('ix_charity_needs_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_needs_area_code'))

    op.drop_table('charity_needs')
    with op.batch_alter_table('charity_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_consents_status'))
        batch_op.drop_index(batch_op.f('ix_charity_consents_household_id'))
        batch_op.drop_index(batch_op.f('ix_charity_consents_area_code'))

    op.drop_table('charity_consents')
    with op.batch_alter_table('charity_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_partners_area_code'))

    op.drop_table('charity_partners')
