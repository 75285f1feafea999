"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from doudi.db.base import Base
from doudi.db.registry import load_all_models


def test_migrations_match_models(database) -> None:  # type: ignore[no-untyped-def]
    load_all_models()
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_0310_keeps_existing_data(fresh_database) -> None:  # type: ignore[no-untyped-def]
    """Upgrading an installation with data: feed batches of the command line's placeholder area become
    national (that is how they were linked), a second open termination of one enrollment is cancelled so
    the new unique index holds, and every existing row starts at version 1."""
    from sqlalchemy import text

    from doudi.db.migrate import upgrade

    engine = fresh_database.engine
    with engine.begin() as conn:  # back to the revision before, keeping the schema's data
        from alembic import command

        from doudi.db.migrate import alembic_config

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0100")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO areas (code, name, level, synthetic, source) "
                          "VALUES ('370784901', '迁移测试镇', 'township', true, 'test')"))
        conn.execute(text("INSERT INTO households (id, household_no, area_code, address, hukou_type, version) "
                          "VALUES (9001, 'M9001', '370784901', '', 'rural', 1)"))
        conn.execute(text("INSERT INTO enrollments (id, household_id, area_code, program, status, monthly_amount, "
                          "level, start_month, review_cycle_months, version) VALUES "
                          "(9001, 9001, '370784901', 'dibao', 'active', 300, '', '2026-11-01', 12, 3)"))
        for i in (9001, 9002):
            conn.execute(text(
                "INSERT INTO enrollment_changes (id, enrollment_id, kind, status, effective_month, old_amount, "
                f"new_amount, reason) VALUES ({i}, 9001, 'terminate', 'publicizing', '2026-12-01', 300, 300, 'x')"))
        conn.execute(text("INSERT INTO ingest_batches (id, kind, source_key, file_name, file_sha256, rows_total, "
                          "rows_ok, rows_rejected, status, area_code, details) VALUES "
                          "(9001, 'feed', 'tax', 'a.csv', 'a', 0, 0, 0, 'done', '000000', '{}'),"
                          "(9002, 'feed', 'tax', 'b.csv', 'b', 0, 0, 0, 'done', '370784', '{}')"))
    upgrade(engine)
    with engine.connect() as conn:
        batches = dict(conn.execute(text("SELECT id, national FROM ingest_batches WHERE id >= 9001")).all())
        assert {k: bool(v) for k, v in batches.items()} == {9001: True, 9002: False}
        changes = dict(conn.execute(text("SELECT id, status FROM enrollment_changes WHERE enrollment_id = 9001")).all())
        assert changes == {9001: "publicizing", 9002: "cancelled"}
        assert conn.execute(text("SELECT version FROM enrollment_changes WHERE id = 9001")).scalar() == 1
        assert conn.execute(text("SELECT version FROM enrollments WHERE id = 9001")).scalar() == 3
