"""payments: a payment line's roll and a return row's return are checked once per statement, not once per row

Revision ID: 2200
Revises: 2300
Create Date: 2026-12-06 01:00:00.000000

A foreign key is checked by PostgreSQL with one query per inserted row: a million-line roll or a million-row
bank return paid about a quarter of its database time for that. The two references (payment_lines.roll_id,
payment_return_rows.return_id) become triggers that keep the same rules, still enforced by the database:
- an insert is checked by one statement-level trigger over all its rows (the parents locked FOR KEY SHARE, as a
  foreign key locks them, so a concurrent delete of the roll waits);
- moving a row to another parent (a re-issue) is checked row by row, only when the reference changes;
- deleting a parent deletes its rows (ON DELETE CASCADE), and a parent's id cannot change under its rows.
SQLite has no statement-level triggers; its row triggers keep the same rules. A later batch ALTER of these
tables on SQLite re-creates the table and so drops its triggers: such a migration must call `create_sqlite` again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2200'
down_revision: str | Sequence[str] | None = '2300'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (child table, column, parent table, what the message calls a parent)
REFERENCES = (("payment_lines", "roll_id", "payment_rolls", "发放花名册"),
              ("payment_return_rows", "return_id", "payment_returns", "回盘文件"))


def _pg_functions() -> list[str]:
    # The functions take the table and column names as trigger arguments: one set serves both references.
    return [
        """CREATE FUNCTION ref_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE wanted bigint; found bigint;
BEGIN
  -- TG_ARGV: parent table, child column, label. Lock the parents as a foreign key would, then count them.
  EXECUTE format('SELECT count(DISTINCT %2$I) FROM new_rows', TG_ARGV[0], TG_ARGV[1]) INTO wanted;
  EXECUTE format('SELECT count(*) FROM (SELECT p.id FROM %1$I p WHERE p.id IN (SELECT %2$I FROM new_rows) '
                 'FOR KEY SHARE OF p) s', TG_ARGV[0], TG_ARGV[1]) INTO found;
  IF found <> wanted THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 引用的%s不存在', TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RETURN NULL;
END $$""",
        """CREATE FUNCTION ref_move_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hit int;
BEGIN
  EXECUTE format('SELECT 1 FROM %I p WHERE p.id = $1 FOR KEY SHARE', TG_ARGV[0])
    INTO hit USING (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
  IF hit IS NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 引用的%s不存在', TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RETURN NULL;
END $$""",
        """CREATE FUNCTION ref_delete_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV: child table, child column.
  EXECUTE format('DELETE FROM %I WHERE %I = $1', TG_ARGV[0], TG_ARGV[1]) USING OLD.id;
  RETURN NULL;
END $$""",
        """CREATE FUNCTION ref_keep_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hit int;
BEGIN
  EXECUTE format('SELECT 1 FROM %I WHERE %I = $1 LIMIT 1', TG_ARGV[0], TG_ARGV[1]) INTO hit USING OLD.id;
  IF hit IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 仍被 %s 引用，不能修改编号', TG_TABLE_NAME, TG_ARGV[0]);
  END IF;
  RETURN NULL;
END $$""",
    ]


def _pg_triggers(child: str, col: str, parent: str, label: str) -> list[str]:
    return [
        f"CREATE TRIGGER {child}_{col}_insert AFTER INSERT ON {child} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION ref_insert_check('{parent}', '{col}', '{label}')",
        f"CREATE TRIGGER {child}_{col}_move AFTER UPDATE OF {col} ON {child} FOR EACH ROW "
        f"WHEN (OLD.{col} IS DISTINCT FROM NEW.{col}) EXECUTE FUNCTION ref_move_check('{parent}', '{col}', '{label}')",
        f"CREATE TRIGGER {parent}_{child}_cascade AFTER DELETE ON {parent} FOR EACH ROW "
        f"EXECUTE FUNCTION ref_delete_cascade('{child}', '{col}')",
        f"CREATE TRIGGER {parent}_{child}_key AFTER UPDATE OF id ON {parent} FOR EACH ROW "
        f"WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION ref_keep_key('{child}', '{col}')",
    ]


def _sqlite_triggers(child: str, col: str, parent: str, label: str) -> list[str]:
    missing = f"NOT EXISTS (SELECT 1 FROM {parent} WHERE id = NEW.{col})"
    fail = f"SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {child}.{col} 引用的{label}不存在');"
    return [
        f"CREATE TRIGGER {child}_{col}_insert BEFORE INSERT ON {child} WHEN {missing} BEGIN {fail} END",
        f"CREATE TRIGGER {child}_{col}_move BEFORE UPDATE OF {col} ON {child} WHEN {missing} BEGIN {fail} END",
        f"CREATE TRIGGER {parent}_{child}_cascade AFTER DELETE ON {parent} "
        f"BEGIN DELETE FROM {child} WHERE {col} = OLD.id; END",
        f"CREATE TRIGGER {parent}_{child}_key BEFORE UPDATE OF id ON {parent} "
        f"WHEN OLD.id IS NOT NEW.id AND EXISTS (SELECT 1 FROM {child} WHERE {col} = OLD.id) "
        f"BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {parent}.id 仍被引用'); END",
    ]


def create_sqlite() -> None:
    """The SQLite row triggers (again, after a batch ALTER re-created one of the tables)."""
    for ref in REFERENCES:
        for stmt in _sqlite_triggers(*ref):
            op.execute(stmt)


def _drop_triggers() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for child, col, parent, _ in REFERENCES:
        for name, table in ((f"{child}_{col}_insert", child), (f"{child}_{col}_move", child),
                            (f"{parent}_{child}_cascade", parent), (f"{parent}_{child}_key", parent)):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if pg else f"DROP TRIGGER IF EXISTS {name}")
    if pg:
        for fn in ("ref_insert_check", "ref_move_check", "ref_delete_cascade", "ref_keep_key"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")


def upgrade() -> None:
    for child, col, parent, _ in REFERENCES:
        with op.batch_alter_table(child, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{child}_{col}_{parent}", type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        for stmt in _pg_functions():
            op.execute(stmt)
        for ref in REFERENCES:
            for stmt in _pg_triggers(*ref):
                op.execute(stmt)
    else:
        create_sqlite()


def downgrade() -> None:
    _drop_triggers()
    for child, col, parent, _ in REFERENCES:
        with op.batch_alter_table(child, schema=None) as batch_op:
            batch_op.create_foreign_key(f"fk_{child}_{col}_{parent}", parent, [col], ["id"], ondelete="CASCADE")
