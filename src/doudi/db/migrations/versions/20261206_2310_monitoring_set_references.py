"""monitoring: a warning's person, household and run checked once per statement, as the payment lines are

Revision ID: 2310
Revises: 2200
Create Date: 2026-12-06 02:20:00.000000

Migration 2300 dropped the warnings' three foreign keys, whose row-by-row checks were about half of the database's
time when a county-wide run writes its warnings. This puts the same rules back, still enforced by the database,
with the set-based checks of migration 2200 (its functions `ref_insert_check` and `ref_move_check`):
- an insert is checked by one statement-level trigger over all its rows, the parents locked FOR KEY SHARE;
- changing a reference is checked row by row, only when it changes to a non-empty value;
- a person, household or run still referenced by a warning cannot be deleted (as a foreign key's NO ACTION).
SQLite has no statement-level triggers; its row triggers keep the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2310'
down_revision: str | Sequence[str] | None = '2200'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column of monitoring_warnings, parent table, what the message calls a parent)
REFERENCES = (("person_id", "persons", "人员"), ("household_id", "households", "家庭"),
              ("run_id", "monitoring_runs", "比对批次"))
CHILD = "monitoring_warnings"

RESTRICT = """CREATE FUNCTION ref_delete_restrict() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hit int;
BEGIN
  -- TG_ARGV: child table, child column, label of the child.
  EXECUTE format('SELECT 1 FROM %I WHERE %I = $1 LIMIT 1', TG_ARGV[0], TG_ARGV[1]) INTO hit USING OLD.id;
  IF hit IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 仍被%s引用，不能删除', TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RETURN NULL;
END $$"""


def _pg(col: str, parent: str, label: str) -> list[str]:
    return [
        f"CREATE TRIGGER {CHILD}_{col}_insert AFTER INSERT ON {CHILD} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION ref_insert_check('{parent}', '{col}', '{label}')",
        f"CREATE TRIGGER {CHILD}_{col}_move AFTER UPDATE OF {col} ON {CHILD} FOR EACH ROW "
        f"WHEN (NEW.{col} IS NOT NULL AND OLD.{col} IS DISTINCT FROM NEW.{col}) "
        f"EXECUTE FUNCTION ref_move_check('{parent}', '{col}', '{label}')",
        f"CREATE TRIGGER {parent}_{CHILD}_{col}_restrict AFTER DELETE ON {parent} FOR EACH ROW "
        f"EXECUTE FUNCTION ref_delete_restrict('{CHILD}', '{col}', '监测预警')",
    ]


def _sqlite(col: str, parent: str, label: str) -> list[str]:
    missing = f"NEW.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} WHERE id = NEW.{col})"
    fail = f"SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {CHILD}.{col} 引用的{label}不存在');"
    return [
        f"CREATE TRIGGER {CHILD}_{col}_insert BEFORE INSERT ON {CHILD} WHEN {missing} BEGIN {fail} END",
        f"CREATE TRIGGER {CHILD}_{col}_move BEFORE UPDATE OF {col} ON {CHILD} WHEN {missing} BEGIN {fail} END",
        f"CREATE TRIGGER {parent}_{CHILD}_{col}_restrict BEFORE DELETE ON {parent} "
        f"WHEN EXISTS (SELECT 1 FROM {CHILD} WHERE {col} = OLD.id) "
        f"BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {parent} 仍被监测预警引用'); END",
    ]


def create_sqlite() -> None:
    """The SQLite row triggers (again, after a batch ALTER re-created monitoring_warnings)."""
    for ref in REFERENCES:
        for stmt in _sqlite(*ref):
            op.execute(stmt)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESTRICT)
        for ref in REFERENCES:
            for stmt in _pg(*ref):
                op.execute(stmt)
    else:
        create_sqlite()


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for col, parent, _ in REFERENCES:
        for name, table in ((f"{CHILD}_{col}_insert", CHILD), (f"{CHILD}_{col}_move", CHILD),
                            (f"{parent}_{CHILD}_{col}_restrict", parent)):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if pg else f"DROP TRIGGER IF EXISTS {name}")
    if pg:
        op.execute("DROP FUNCTION IF EXISTS ref_delete_restrict()")
