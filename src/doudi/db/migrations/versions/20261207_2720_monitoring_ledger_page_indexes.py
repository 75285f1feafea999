"""monitoring: the ledger's page is served by its indexes (an area's warnings by status; due order by id)

Revision ID: 2720
Revises: 2710
Create Date: 2026-12-07 09:30:00.000000

The area index becomes (area_code, status), so an area's open warnings are counted from the index alone, and the
due-date index becomes (due_on, id), the page's order, so a page of open warnings is read from it in order
instead of sorting every matching warning. Each replaces an index on its first column, so a run's insert
maintains as many indexes as before. The area scope is a range on the code (auth.scope.starts_with), which an
ordinary index serves under any collation.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2720'
down_revision: str | Sequence[str] | None = '2710'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_monitoring_warnings_area_code", table_name="monitoring_warnings")
    op.drop_index("ix_monitoring_warnings_due_on", table_name="monitoring_warnings")
    op.create_index("ix_monitoring_warnings_area_status", "monitoring_warnings", ["area_code", "status"])
    op.create_index("ix_monitoring_warnings_due_id", "monitoring_warnings", ["due_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_warnings_due_id", table_name="monitoring_warnings")
    op.drop_index("ix_monitoring_warnings_area_status", table_name="monitoring_warnings")
    op.create_index("ix_monitoring_warnings_due_on", "monitoring_warnings", ["due_on"])
    op.create_index("ix_monitoring_warnings_area_code", "monitoring_warnings", ["area_code"])
