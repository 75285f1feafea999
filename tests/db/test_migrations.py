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


def test_2600_keeps_the_linked_audit_chain(fresh_database) -> None:  # type: ignore[no-untyped-def]
    """Upgrading an installation whose audit log is a linked chain (two entries from before the key, three HMAC
    entries linked to their predecessors): the chain verifies as it stands, new entries are numbered after it
    (the sequence on PostgreSQL, the counter on SQLite) and sealed in batches."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    from doudi.audit import service as audit
    from doudi.audit.models import AuditEntry
    from doudi.auth.permissions import system_actor
    from doudi.db.engine import session_scope
    from doudi.db.migrate import alembic_config, upgrade

    engine = fresh_database.engine
    with engine.begin() as conn:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "2310")
    key, prev = audit.audit_key(), audit.GENESIS
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
        for seq in range(1, 6):
            e = AuditEntry(seq=seq, at=datetime(2026, 11, 30, 9, 0, seq, tzinfo=UTC), actor_id=None, actor="old",
                           ip="", action="test.old", object_type="thing", object_id=str(seq), area_code=None,
                           outcome="ok", changes={}, prev_hash=prev)
            e.hash = audit.entry_hash(e) if seq <= 2 else audit.entry_mac(e, key)
            conn.execute(text("INSERT INTO audit_log (seq, at, actor_id, actor, ip, action, object_type, object_id, "
                              "area_code, outcome, changes, prev_hash, hash) VALUES (:seq, :at, NULL, 'old', '', "
                              "'test.old', 'thing', :oid, NULL, 'ok', '{}', :prev, :hash)"),
                         {"seq": seq, "at": e.at, "oid": str(seq), "prev": prev, "hash": e.hash})
            prev = e.hash
            if seq == 2:
                sealed_mac = audit._sign(key, "seal", 2, e.hash)
        conn.execute(text("INSERT INTO audit_head (id, seq, hash, sealed_seq, seal_mac) VALUES (1, 5, :h, 2, :m)"),
                     {"h": prev, "m": sealed_mac})
    upgrade(engine)
    with session_scope(engine) as session:
        new = [audit.record(session, actor=system_actor(name="tester"), action="test.new").seq for _ in range(2)]
    with session_scope(engine) as session:
        assert audit.seal(session).entries == 2
        report = audit.verify_report(session)
    assert new == [6, 7]
    assert report.problems == [] and (report.sealed_seq, report.linked_seq, report.seals) == (2, 5, 1)
    assert report.entries == 7 and report.head_seq == 7
