"""monitoring: overdue referrals escalate to the county; a warning above the counties has one side per county;
the ledger's rule index is the (rule, subject) one

Revision ID: 1200
Revises: 1300
Create Date: 2026-12-05 22:00:00.000000

The single-column rule_key index duplicated the leading column of ix_monitoring_warnings_rule_subject and cost
every bulk insert of warnings one more index to maintain.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1200'
down_revision: str | Sequence[str] | None = '1300'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_monitoring_warnings_rule_key", table_name="monitoring_warnings")
    op.create_table(
        "monitoring_warning_sides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["warning_id"], ["monitoring_warnings.id"],
                                name=op.f("fk_monitoring_warning_sides_warning_id_monitoring_warnings")),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name=op.f("fk_monitoring_warning_sides_household_id_households")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_monitoring_warning_sides_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_warning_sides")),
        sa.UniqueConstraint("warning_id", "household_id", name="uq_monitoring_warning_sides_household"),
    )
    op.create_index("ix_monitoring_warning_sides_warning_id", "monitoring_warning_sides", ["warning_id"])
    op.create_index("ix_monitoring_warning_sides_area_code", "monitoring_warning_sides", ["area_code"])
    with op.batch_alter_table("monitoring_referrals") as batch:
        batch.add_column(sa.Column("escalated_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("escalated_to", sa.String(12), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("monitoring_referrals") as batch:
        batch.drop_column("escalated_to")
        batch.drop_column("escalated_on")
    op.drop_table("monitoring_warning_sides")
    op.create_index("ix_monitoring_warnings_rule_key", "monitoring_warnings", ["rule_key"])
