"""references: a large insert's parents are checked in one hash join; a warning's person and household unlocked

Revision ID: 2700
Revises: 2600
Create Date: 2026-12-07 02:00:00.000000

`ref_insert_check` (migrations 2200 and 2310) counts the parents an insert names and locks them FOR KEY SHARE.
Measured on a county-wide monitoring run (385,003 warnings naming 190,363 persons and 111,086 households, one
INSERT … SELECT): 7.7 s, of which 3.1 s were these two checks. Two changes, with the same rules and messages:
- The transition table has no statistics, so PostgreSQL guessed 200 parents and probed the parent's primary key
  once per parent. The check now turns nested loops off, for its own query only, when the statement names more
  than 5,000 parents and more than a fiftieth of the parent table: one hash join over the parent table. The
  parents are counted with a hash aggregate instead of a sort.
- Locking each person and household (a WAL record per row) guarded against a delete between the check and the
  commit. Persons and households are never deleted by the platform. So the warnings' checks take no row locks
  (trigger argument `table_lock`); instead a delete of a person or household that warnings name first takes a
  SHARE lock on the ledger, which waits for every transaction writing warnings to end, and only then looks for
  warnings naming it (a delete that comes first makes the writers wait, and their check then finds the parent
  gone). The payment references keep their row locks: rolls are deleted.
Together: 7.7 s → 5.6 s. SQLite has no statement-level triggers (its row triggers are unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2700'
down_revision: str | Sequence[str] | None = '2600'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Below this many parents a probe per parent costs less than reading the parent table (whatever its size).
FEW_PARENTS = 5000
CHILD = "monitoring_warnings"
UNLOCKED = (("person_id", "persons", "人员"), ("household_id", "households", "家庭"))

CHECK = f"""CREATE OR REPLACE FUNCTION ref_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE wanted bigint; found bigint; nestloop text; locking text := ' FOR KEY SHARE OF p';
BEGIN
  -- TG_ARGV: parent table, child column, label[, 'table_lock': the parent's delete locks the child table].
  EXECUTE format('SELECT count(*) FROM (SELECT %2$I FROM new_rows WHERE %2$I IS NOT NULL GROUP BY 1) s',
                 TG_ARGV[0], TG_ARGV[1]) INTO wanted;
  IF TG_NARGS > 3 AND TG_ARGV[3] = 'table_lock' THEN
    locking := '';
  END IF;
  nestloop := current_setting('enable_nestloop');
  IF wanted > {FEW_PARENTS} AND wanted * 50 > (SELECT reltuples FROM pg_class WHERE oid = TG_ARGV[0]::regclass) THEN
    PERFORM set_config('enable_nestloop', 'off', true);
  END IF;
  EXECUTE format('SELECT count(*) FROM (SELECT p.id FROM %1$I p WHERE p.id IN (SELECT %2$I FROM new_rows)%3$s) s',
                 TG_ARGV[0], TG_ARGV[1], locking) INTO found;
  PERFORM set_config('enable_nestloop', nestloop, true);
  IF found <> wanted THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 引用的%s不存在', TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RETURN NULL;
END $$"""

OLD_CHECK = """CREATE OR REPLACE FUNCTION ref_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$"""


def _restrict(table_lock: bool) -> str:
    wait = "  EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[0]);\n" if table_lock else ""
    return f"""CREATE OR REPLACE FUNCTION ref_delete_restrict() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hit int;
BEGIN
  -- TG_ARGV: child table, child column, label of the child.
{wait}  EXECUTE format('SELECT 1 FROM %I WHERE %I = $1 LIMIT 1', TG_ARGV[0], TG_ARGV[1]) INTO hit USING OLD.id;
  IF hit IS NOT NULL THEN
    RAISE foreign_key_violation USING MESSAGE = format('%s 仍被%s引用，不能删除', TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RETURN NULL;
END $$"""


def _insert_triggers(table_lock: bool) -> None:
    extra = ", 'table_lock'" if table_lock else ""
    for col, parent, label in UNLOCKED:
        op.execute(f"DROP TRIGGER {CHILD}_{col}_insert ON {CHILD}")
        op.execute(f"CREATE TRIGGER {CHILD}_{col}_insert AFTER INSERT ON {CHILD} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION ref_insert_check('{parent}', '{col}', '{label}'{extra})")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHECK)
        op.execute(_restrict(table_lock=True))
        _insert_triggers(table_lock=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _insert_triggers(table_lock=False)
        op.execute(_restrict(table_lock=True))
        op.execute(OLD_CHECK)
