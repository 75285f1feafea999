"""monitoring: a warning insert's three references checked in one pass over its rows

Revision ID: 2800
Revises: 2710
Create Date: 2026-12-07 04:00:00.000000

Each of the ledger's three statement-level checks (person, household, run; migrations 2310 and 2700) read the
statement's transition table twice: once to count the keys it names, once to find them. A transition table holds
whole rows (about 490 bytes of a warning), so a county-wide first run of 385,003 warnings read 190 MB six times,
and hashed 385,003 keys six times; the three checks cost about 3 s of the insert.

`ref_insert_checks` takes every reference of a table as one trigger. It reads the rows once, into their reference
columns alone (a materialised CTE), then for each reference counts the distinct keys that have no parent:
- a reference whose parent's delete locks the child table (`table_lock`: persons and households, migration 2700)
  is an anti-join, which PostgreSQL runs as one primary-key probe per distinct key;
- a reference whose parents are locked as a foreign key locks them (`row_lock`: the run) probes each distinct
  key with FOR KEY SHARE, as before.
Measured on those 385,003 rows (190,363 persons, 111,086 households, one run): 1.6 s for the three checks
against 3.0 s. The rules and messages are those of `ref_insert_check`, which the payment tables keep.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '2800'
down_revision: str | Sequence[str] | None = '2710'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILD = "monitoring_warnings"
# (child column, parent table, what the message calls a parent, how a parent's delete is kept out)
REFERENCES = (("person_id", "persons", "人员", "table_lock"), ("household_id", "households", "家庭", "table_lock"),
              ("run_id", "monitoring_runs", "比对批次", "row_lock"))
TRIGGER = f"{CHILD}_references_insert"

CHECKS = """CREATE FUNCTION ref_insert_checks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n int := TG_NARGS / 4; cols text := ''; checks text := ''; missing bigint[]; i int;
BEGIN
  -- TG_ARGV: (parent table, child column, label, 'table_lock' | 'row_lock') per reference.
  IF n < 1 OR TG_NARGS % 4 <> 0 THEN
    RAISE EXCEPTION 'ref_insert_checks: four arguments per reference';
  END IF;
  FOR i IN 0 .. n - 1 LOOP
    cols := cols || CASE WHEN i > 0 THEN ', ' ELSE '' END || format('%I', TG_ARGV[4 * i + 1]);
    -- Distinct keys with no parent. With a locking clause the probe stays one subquery per key, which locks
    -- the parent it finds; without one it is an anti-join.
    checks := checks || CASE WHEN i > 0 THEN ', ' ELSE '' END || format(
      '(SELECT count(*) FROM (SELECT DISTINCT %2$I AS id FROM k WHERE %2$I IS NOT NULL) d '
      'WHERE NOT EXISTS (SELECT 1 FROM %1$I p WHERE p.id = d.id%3$s))',
      TG_ARGV[4 * i], TG_ARGV[4 * i + 1], CASE WHEN TG_ARGV[4 * i + 3] = 'table_lock' THEN ''
                                              ELSE ' FOR KEY SHARE OF p' END);
  END LOOP;
  EXECUTE format('WITH k AS MATERIALIZED (SELECT %s FROM new_rows) SELECT ARRAY[%s]', cols, checks) INTO missing;
  FOR i IN 1 .. n LOOP
    IF missing[i] > 0 THEN
      RAISE foreign_key_violation USING MESSAGE = format('%s 引用的%s不存在', TG_TABLE_NAME, TG_ARGV[4 * i - 2]);
    END IF;
  END LOOP;
  RETURN NULL;
END $$"""


def _one_by_one(col: str, parent: str, label: str, lock: str) -> str:
    extra = ", 'table_lock'" if lock == "table_lock" else ""
    return (f"CREATE TRIGGER {CHILD}_{col}_insert AFTER INSERT ON {CHILD} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION ref_insert_check('{parent}', '{col}', '{label}'{extra})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CHECKS)
    for col, *_ in REFERENCES:
        op.execute(f"DROP TRIGGER {CHILD}_{col}_insert ON {CHILD}")
    args = ", ".join(f"'{parent}', '{col}', '{label}', '{lock}'" for col, parent, label, lock in REFERENCES)
    op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {CHILD} REFERENCING NEW TABLE AS new_rows "
               f"FOR EACH STATEMENT EXECUTE FUNCTION ref_insert_checks({args})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER {TRIGGER} ON {CHILD}")
    for ref in REFERENCES:
        op.execute(_one_by_one(*ref))
    op.execute("DROP FUNCTION ref_insert_checks()")
