"""audit: entries signed one by one without a lock, sealed in signed batches after the linked chain

Revision ID: 2600
Revises: 2310
Create Date: 2026-12-07 01:00:00.000000

Until now every append took the `audit_head` row's lock and held it to the commit, so every audited write in the
platform waited for the one before it. From here on an entry gets its number from the sequence `audit_seq`
(PostgreSQL) or `audit_head.issued_seq` (SQLite, whose writers are serialised anyway) and its own HMAC, and a
sealer signs the committed, unsealed entries in batches (`audit_seals`). The linked chain written so far ends at
`audit_head.seq` as it stands; nothing old is changed or re-signed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '2600'
down_revision: str | Sequence[str] | None = '2310'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seal_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_log_unsealed", "audit_log", ["seq"], postgresql_where=sa.text("seal_id IS NULL"),
                    sqlite_where=sa.text("seal_id IS NULL"))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("issued_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("batch_seal_id", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("batch_seal_mac", sa.String(64), nullable=True))
    op.create_table(
        "audit_seals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_seals")),
    )
    # The head row always exists from here on: the linked chain ends where it stands (0 on a new installation).
    bind.execute(sa.text("INSERT INTO audit_head (id, seq, hash, sealed_seq, seal_mac, issued_seq, batch_seal_id) "
                         "SELECT 1, 0, :genesis, NULL, NULL, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM audit_head)"),
                 {"genesis": "0" * 64})
    bind.execute(sa.text("UPDATE audit_head SET issued_seq = (SELECT coalesce(max(seq), 0) FROM audit_log)"))
    if bind.dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_seq AS bigint")
        op.execute("SELECT setval('audit_seq', (SELECT coalesce(max(seq), 0) + 1 FROM audit_log), false)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_seq")
    op.drop_table("audit_seals")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("batch_seal_mac")
        batch.drop_column("batch_seal_id")
        batch.drop_column("issued_seq")
    op.drop_index("ix_audit_log_unsealed", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("seal_id")
