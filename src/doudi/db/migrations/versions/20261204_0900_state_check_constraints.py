"""states: CHECK constraints on every status column, the step level, the approval level and the match method

Revision ID: 0900
Revises: 0600
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0900'
down_revision: str | Sequence[str] | None = '0600'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (the enums in the models may grow later, each with its own migration).
# Existing rows already hold only these values, so the constraints keep the data as it is.
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("cases", "status"): ("submitted", "needs_info", "open", "decided", "closed", "withdrawn"),
    ("case_steps", "status"): ("waiting", "active", "done", "skipped"),
    ("case_steps", "level"): ("village", "township", "county"),
    ("case_tasks", "status"): ("open", "done"),
    ("temporary_grants", "approval_level"): ("township", "county", "case_by_case"),
    ("enrollments", "status"): ("active", "gradual_exit", "suspended", "terminated"),
    ("enrollment_changes", "status"): ("publicizing", "effective", "cancelled"),
    ("feed_records", "match_method"): ("id", "probabilistic", "clerical", "review", "pending", "none"),
    ("link_reviews", "status"): ("pending", "accepted", "rejected"),
    ("verification_requests", "status"): ("open", "complete"),
    ("verification_request_sources", "status"): ("pending", "answered", "no_record", "error"),
    ("ingest_batches", "status"): ("running", "done", "failed"),
    ("assessment_runs", "status"): ("running", "completed", "failed"),
}


def upgrade() -> None:
    for (table, column), values in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_{column}"), f"{column} in ({','.join(repr(v) for v in values)})")


def downgrade() -> None:
    for table, column in reversed(CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_='check')
