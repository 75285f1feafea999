"""audit: the chain continues as an HMAC segment after a signed seal of the entries written before it

Revision ID: 1000
Revises: 0410
Create Date: 2026-12-05 01:00:00.000000

The seal itself needs the audit key, which never enters the database: it is written by the first append after
this revision (or by `doudi db upgrade`), over the head as it stands; nothing old is re-signed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1000'
down_revision: str | Sequence[str] | None = '0410'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("sealed_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seal_mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("seal_mac")
        batch.drop_column("sealed_seq")
