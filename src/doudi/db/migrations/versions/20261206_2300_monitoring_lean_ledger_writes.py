"""monitoring: the warning ledger without per-row foreign-key checks and with lean indexes

Revision ID: 2300
Revises: 2500
Create Date: 2026-12-06 01:00:00.000000

A county-wide run writes hundreds of thousands of warnings by COPY. PostgreSQL checks a foreign key row by row
(a lookup and a row lock of the person, the household and the run): measured on 385 000 warnings, the three
checks were about half the backend's CPU. The ids come from the registry rows the run read in the same
transaction, and persons and households are never deleted, so the constraints go; their indexes stay. The
status index (five values, most rows open) and the (rule, subject) index (open warnings are found by
open_key) are dropped; case_id is indexed only where set, and closed warnings by fingerprint (a dismissal is
looked up by what it found), so a newly raised warning enters neither.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '2300'
down_revision: str | Sequence[str] | None = '2500'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE = sa.text("case_id IS NOT NULL")
CLOSED = sa.text("status = 'closed'")


def upgrade() -> None:
    op.drop_index("ix_monitoring_warnings_status", table_name="monitoring_warnings")
    op.drop_index("ix_monitoring_warnings_rule_subject", table_name="monitoring_warnings")
    op.drop_index("ix_monitoring_warnings_case_id", table_name="monitoring_warnings")
    with op.batch_alter_table("monitoring_warnings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_monitoring_warnings_person_id_persons"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_monitoring_warnings_household_id_households"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_monitoring_warnings_run_id_monitoring_runs"), type_="foreignkey")
    op.create_index("ix_monitoring_warnings_case_id", "monitoring_warnings", ["case_id"], postgresql_where=CASE,
                    sqlite_where=CASE)
    op.create_index("ix_monitoring_warnings_dismissed", "monitoring_warnings", ["fingerprint"],
                    postgresql_where=CLOSED, sqlite_where=CLOSED)


def downgrade() -> None:
    op.drop_index("ix_monitoring_warnings_dismissed", table_name="monitoring_warnings")
    op.drop_index("ix_monitoring_warnings_case_id", table_name="monitoring_warnings")
    with op.batch_alter_table("monitoring_warnings", schema=None) as batch_op:
        batch_op.create_foreign_key(op.f("fk_monitoring_warnings_person_id_persons"), "persons", ["person_id"],
                                    ["id"])
        batch_op.create_foreign_key(op.f("fk_monitoring_warnings_household_id_households"), "households",
                                    ["household_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_monitoring_warnings_run_id_monitoring_runs"), "monitoring_runs",
                                    ["run_id"], ["id"])
    op.create_index("ix_monitoring_warnings_case_id", "monitoring_warnings", ["case_id"])
    op.create_index("ix_monitoring_warnings_rule_subject", "monitoring_warnings", ["rule_key", "subject_key"])
    op.create_index("ix_monitoring_warnings_status", "monitoring_warnings", ["status"])
