"""users: the organisation an agency liaison or care provider acts for

Revision ID: 0330
Revises: 0310
Create Date: 2026-12-04 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0330'
down_revision: str | Sequence[str] | None = '0310'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts keep no organisation (both columns null).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('org_key', sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_users_org'), "(org_kind is null and org_key is null) or "
                   "(org_kind in ('agency','provider','partner') and org_key is not null)")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_org'), type_='check')
        batch_op.drop_column('org_key')
        batch_op.drop_column('org_kind')
