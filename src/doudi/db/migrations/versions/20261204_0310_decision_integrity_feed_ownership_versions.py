"""decision overrides, feed ownership and duplicates, versions on every state-changing table

Revision ID: 0310
Revises: 0100
Create Date: 2026-12-04 09:00:00

Existing data is kept: new columns have defaults, every existing row starts at version 1, and feed batches
stored with the placeholder area 000000 or none (ingested from the command line before areas were required) are
marked national, which is how they were linked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0310'
down_revision: str | Sequence[str] | None = '0100'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Tables whose rows change state and gain a version (cases, enrollments, households, persons and verification
# requests have one already).
VERSIONED = ('case_steps', 'program_decisions', 'case_tasks', 'temporary_grants', 'enrollment_changes',
             'case_notices', 'link_reviews', 'users')


def upgrade() -> None:
    with op.batch_alter_table('program_decisions') as batch:
        batch.add_column(sa.Column('override_reason', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('override_level', sa.String(length=12), server_default='', nullable=False))
    with op.batch_alter_table('ingest_batches') as batch:
        batch.add_column(sa.Column('national', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('rows_duplicate', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint('uq_batch_content', type_='unique')
        batch.create_unique_constraint('uq_batch_content', ['kind', 'source_key', 'file_sha256', 'area_code'])
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    # Earlier versions could leave several terminations of one enrollment under 公示 (concurrent requests): the
    # first stays, the later ones are cancelled, so the new unique index can hold.
    changes = sa.table('enrollment_changes', sa.column('id', sa.Integer), sa.column('enrollment_id', sa.Integer),
                       sa.column('kind', sa.String), sa.column('status', sa.String))
    open_ = sa.and_(changes.c.kind == 'terminate', changes.c.status == 'publicizing')
    first = sa.select(sa.func.min(changes.c.id)).where(open_).group_by(changes.c.enrollment_id)
    op.execute(changes.update().where(open_, changes.c.id.not_in(first)).values(status='cancelled'))
    op.create_index('uq_enrollment_changes_open_termination', 'enrollment_changes', ['enrollment_id'], unique=True,
                    postgresql_where=sa.text("kind = 'terminate' AND status = 'publicizing'"),
                    sqlite_where=sa.text("kind = 'terminate' AND status = 'publicizing'"))
    batches = sa.table('ingest_batches', sa.column('kind', sa.String), sa.column('area_code', sa.String),
                       sa.column('national', sa.Boolean))
    op.execute(batches.update().where(batches.c.kind == 'feed', sa.or_(batches.c.area_code == '000000',
                                                                        batches.c.area_code.is_(None)))
               .values(national=True))


def downgrade() -> None:
    op.drop_index('uq_enrollment_changes_open_termination', table_name='enrollment_changes')
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
    with op.batch_alter_table('ingest_batches') as batch:
        batch.drop_constraint('uq_batch_content', type_='unique')
        batch.create_unique_constraint('uq_batch_content', ['kind', 'source_key', 'file_sha256'])
        batch.drop_column('rows_duplicate')
        batch.drop_column('national')
    with op.batch_alter_table('program_decisions') as batch:
        batch.drop_column('override_level')
        batch.drop_column('override_reason')
