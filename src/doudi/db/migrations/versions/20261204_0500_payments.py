"""payments: accounts, rolls and lines (paid at most once), bank files, returns, CPI, reserve ledger;
care levels on enrollment changes

Revision ID: 0500
Revises: 0950
Create Date: 2026-12-04 21:05:18.172425
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0500'
down_revision: str | Sequence[str] | None = '0950'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_cpi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('cpi_yoy', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=False),
    sa.Column('food_cpi_yoy', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_cpi')),
    sa.UniqueConstraint('region', 'month', name='uq_payment_cpi_key')
    )
    op.create_table('payment_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=12), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('invalid', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_returns')),
    sa.UniqueConstraint('sha256', name=op.f('uq_payment_returns_sha256'))
    )
    with op.batch_alter_table('payment_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_returns_area_code'), ['area_code'], unique=False)

    op.create_table('payment_return_rows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("outcome in ('paid', 'rejected', 'returned', 'unmatched', 'duplicate', 'invalid')", name=op.f('ck_payment_return_rows_outcome')),
    sa.ForeignKeyConstraint(['return_id'], ['payment_returns.id'], name=op.f('fk_payment_return_rows_return_id_payment_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_return_rows'))
    )
    with op.batch_alter_table('payment_return_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_return_rows_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_return_rows_return_id'), ['return_id'], unique=False)

    op.create_table('payee_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payee_key', sa.String(length=24), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('holder_name', sa.String(length=64), nullable=False),
    sa.Column('bank_name', sa.String(length=80), nullable=False),
    sa.Column('account_no', sa.String(length=34), nullable=False),
    sa.Column('social_security_card', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('pending', 'confirmed', 'replaced')", name=op.f('ck_payee_accounts_status')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_payee_accounts_confirmed_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_payee_accounts_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payee_accounts'))
    )
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payee_accounts_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_payee_accounts_payee_key'), ['payee_key'], unique=False)
        batch_op.create_index('uq_payee_accounts_confirmed', ['payee_key'], unique=True, sqlite_where=sa.text("status = 'confirmed'"), postgresql_where=sa.text("status = 'confirmed'"))

    op.create_table('payment_rolls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('program', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('pack_version', sa.String(length=40), nullable=False),
    sa.Column('prepared_by', sa.Integer(), nullable=True),
    sa.Column('prepared_by_name', sa.String(length=64), nullable=False),
    sa.Column('prepared_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_by_name', sa.String(length=64), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status in ('draft', 'approved', 'sent', 'reconciled')", name=op.f('ck_payment_rolls_status')),
    sa.CheckConstraint('total_fen >= 0 and line_count >= 0', name=op.f('ck_payment_rolls_totals')),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_payment_rolls_approved_by_users')),
    sa.ForeignKeyConstraint(['prepared_by'], ['users.id'], name=op.f('fk_payment_rolls_prepared_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_rolls')),
    sa.UniqueConstraint('area_code', 'month', 'program', name='uq_payment_rolls_key')
    )
    with op.batch_alter_table('payment_rolls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_rolls_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_rolls_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_rolls_status'), ['status'], unique=False)

    op.create_table('payment_bank_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roll_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=12), nullable=False),
    sa.Column('msg_id', sa.String(length=35), nullable=False),
    sa.Column('tx_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("format in ('pain001','domestic')", name=op.f('ck_payment_bank_files_format')),
    sa.ForeignKeyConstraint(['roll_id'], ['payment_rolls.id'], name=op.f('fk_payment_bank_files_roll_id_payment_rolls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_bank_files')),
    sa.UniqueConstraint('msg_id', name=op.f('uq_payment_bank_files_msg_id'))
    )
    with op.batch_alter_table('payment_bank_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_bank_files_roll_id'), ['roll_id'], unique=False)

    op.create_table('payment_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('roll_id', sa.Integer(), nullable=False),
    sa.Column('payee_key', sa.String(length=24), nullable=False),
    sa.Column('program', sa.String(length=32), nullable=False),
    sa.Column('component', sa.String(length=20), nullable=False),
    sa.Column('covers', sa.String(length=20), nullable=False),
    sa.Column('entitlement_month', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('payee_name', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('bank_name', sa.String(length=80), nullable=False),
    sa.Column('account_no', sa.String(length=34), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint("component in ('basic', 'care', 'back_pay', 'subsidy', 'provider_payable', 'one_off')", name=op.f('ck_payment_lines_component')),
    sa.CheckConstraint("covers in ('basic', 'care', 'back_pay', 'subsidy', 'provider_payable', 'one_off')", name=op.f('ck_payment_lines_covers')),
    sa.CheckConstraint("status in ('pending', 'paid', 'rejected', 'returned', 'no_account')", name=op.f('ck_payment_lines_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_lines_amount')),
    sa.ForeignKeyConstraint(['roll_id'], ['payment_rolls.id'], name=op.f('fk_payment_lines_roll_id_payment_rolls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_lines')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_payment_lines_end_to_end_id')),
    sa.UniqueConstraint('payee_key', 'program', 'covers', 'entitlement_month', name='uq_payment_lines_once')
    )
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_lines_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lines_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lines_roll_id'), ['roll_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lines_status'), ['status'], unique=False)

    op.create_table('payment_reserve_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('county_approved_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("kind in ('allot', 'spend', 'replenish')", name=op.f('ck_payment_reserve_entries_kind')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_reserve_entries_amount')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_payment_reserve_entries_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_reserve_entries')),
    sa.UniqueConstraint('case_id', name=op.f('uq_payment_reserve_entries_case_id')),
    sa.UniqueConstraint('township_code', 'seq', name='uq_payment_reserve_entries_seq')
    )
    with op.batch_alter_table('payment_reserve_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_reserve_entries_township_code'), ['township_code'], unique=False)

    with op.batch_alter_table('enrollment_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('old_level', sa.String(length=24), server_default='', nullable=False))
        batch_op.add_column(sa.Column('new_level', sa.String(length=24), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('enrollment_changes', schema=None) as batch_op:
        batch_op.drop_column('new_level')
        batch_op.drop_column('old_level')

    with op.batch_alter_table('payment_reserve_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_reserve_entries_township_code'))

    op.drop_table('payment_reserve_entries')
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_lines_status'))
        batch_op.drop_index(batch_op.f('ix_payment_lines_roll_id'))
        batch_op.drop_index(batch_op.f('ix_payment_lines_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_lines_area_code'))

    op.drop_table('payment_lines')
    with op.batch_alter_table('payment_bank_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_bank_files_roll_id'))

    op.drop_table('payment_bank_files')
    with op.batch_alter_table('payment_rolls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_rolls_status'))
        batch_op.drop_index(batch_op.f('ix_payment_rolls_month'))
        batch_op.drop_index(batch_op.f('ix_payment_rolls_area_code'))

    op.drop_table('payment_rolls')
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_payee_accounts_confirmed', sqlite_where=sa.text("status = 'confirmed'"), postgresql_where=sa.text("status = 'confirmed'"))
        batch_op.drop_index(batch_op.f('ix_payee_accounts_payee_key'))
        batch_op.drop_index(batch_op.f('ix_payee_accounts_area_code'))

    op.drop_table('payee_accounts')
    with op.batch_alter_table('payment_return_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_return_rows_return_id'))
        batch_op.drop_index(batch_op.f('ix_payment_return_rows_line_id'))

    op.drop_table('payment_return_rows')
    with op.batch_alter_table('payment_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_returns_area_code'))

    op.drop_table('payment_returns')
    op.drop_table('payment_cpi')
