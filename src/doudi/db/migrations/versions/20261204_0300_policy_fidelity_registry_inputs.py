"""policy fidelity: registry inputs the rules need (supporters elsewhere, 特困 and 低保 status, 供养方式,
schooling stage, civil capacity, former 建档立卡)

Revision ID: 0300
Revises: 0330
Create Date: 2026-12-04 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0300'
down_revision: str | Sequence[str] | None = '0330'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHOOLING = ("preschool", "primary", "junior_secondary", "senior_high", "secondary_vocational", "higher_vocational",
             "undergraduate", "postgraduate")


def upgrade() -> None:
    # Existing rows keep their data: new flags start false, new facts start unrecorded (null).
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('former_registered_poor', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schooling_stage', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('no_civil_capacity', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('extreme_poverty_supported', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('dibao_recipient', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('support_mode', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('supporters_elsewhere_able', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('supporters_elsewhere_unable', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('supporters_elsewhere_unverified', sa.SmallInteger(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_persons_support_mode'), "support_mode is null or support_mode in ('centralized','dispersed')")
        batch_op.create_check_constraint(
            op.f('ck_persons_schooling_stage'), "schooling_stage is null or schooling_stage in ("
            + ",".join(f"'{s}'" for s in SCHOOLING) + ")")
        batch_op.create_check_constraint(
            op.f('ck_persons_supporters_elsewhere'), "coalesce(supporters_elsewhere_able, 0) >= 0 and "
            "coalesce(supporters_elsewhere_unable, 0) >= 0 and coalesce(supporters_elsewhere_unverified, 0) >= 0")
    # The registry said "student" without a stage; the stage is recorded from now on (never guessed).


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_persons_supporters_elsewhere'), type_='check')
        batch_op.drop_constraint(op.f('ck_persons_schooling_stage'), type_='check')
        batch_op.drop_constraint(op.f('ck_persons_support_mode'), type_='check')
        for column in ('supporters_elsewhere_unverified', 'supporters_elsewhere_unable', 'supporters_elsewhere_able',
                       'support_mode', 'dibao_recipient', 'extreme_poverty_supported', 'no_civil_capacity',
                       'schooling_stage'):
            batch_op.drop_column(column)
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_column('former_registered_poor')
