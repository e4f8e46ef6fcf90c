"""The writer when the server, not the data, refuses commits: a permission revoked, a
table missing. Such groups are retried, visibly, never set aside as dead letters; once
the server is repaired the stream arrives whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ald_gui.domain.stream import StreamItem
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.spool import Spool
from tests.test_writer import Stream, _assert_whole, _drained, running
from tests.waiting import wait_until


@pytest.fixture
def writer_dsn(migrated_pg_dsn: str) -> Iterator[str]:
    """A login of the ald_writer group, not a superuser, so that a REVOKE bites."""
    name = f"writer_{uuid.uuid4().hex[:8]}"
    role = sql.Identifier(name)
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE ald_writer").format(role))
    yield make_conninfo(migrated_pg_dsn, user=name)
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
        admin.execute(sql.SQL("DROP ROLE {}").format(role))


def _refusals(events: list[WriterEvent]) -> list[WriterEvent]:
    return [e for e in events if e.kind is WriterEventKind.COMMIT_REFUSED]


def test_a_revoked_permission_is_retried_and_nothing_is_dead_lettered(
    migrated_pg_dsn: str, writer_dsn: str, tmp_path: Path
) -> None:
    s = Stream()
    start, before = s.start(), s.batches(3)
    after, end = s.batches(5), s.end()
    first: list[StreamItem] = [start, *before]
    second: list[StreamItem] = [*after, end]
    events: list[WriterEvent] = []
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(writer_dsn, spool, on_event=events.append) as writer,
    ):
        writer.submit(first)
        wait_until(lambda: _drained(writer), 10, "the first items to arrive")
        with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
            admin.execute("REVOKE INSERT ON parameter_value_history FROM ald_writer")
        writer.submit(second)
        wait_until(lambda: writer.health().commit_failures >= 3, 10, "retries of the refusal")
        health = writer.health()
        assert health.dead_letters == 0 and health.spool_depth == len(second)
        assert "InsufficientPrivilege" in health.last_error
        [refusal] = _refusals(events)  # once, not once per retry
        assert "permission denied" in refusal.message
        with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
            admin.execute("GRANT INSERT ON parameter_value_history TO ald_writer")
        wait_until(lambda: _drained(writer), 10, "the spool to drain once granted again")
        assert writer.health().commit_failures == 0
        assert spool.dead_letters() == []
    assert not [e for e in events if e.kind is WriterEventKind.QUARANTINED]
    _assert_whole(migrated_pg_dsn, before + after)


def test_a_missing_table_is_retried_until_it_is_back(migrated_pg_dsn: str, tmp_path: Path) -> None:
    s = Stream()
    batches = s.batches(6)
    events: list[WriterEvent] = []
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute("ALTER TABLE parameter_value_history RENAME TO history_moved_away")
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(migrated_pg_dsn, spool, on_event=events.append) as writer,
    ):
        writer.submit(batches)
        wait_until(lambda: writer.health().commit_failures >= 3, 10, "retries of the refusal")
        assert writer.health().dead_letters == 0
        assert "UndefinedTable" in _refusals(events)[0].message
        with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
            admin.execute("ALTER TABLE history_moved_away RENAME TO parameter_value_history")
        wait_until(lambda: _drained(writer), 10, "the spool to drain once the table is back")
        assert spool.dead_letters() == []
    _assert_whole(migrated_pg_dsn, batches)


def test_a_held_lock_bounds_the_commit_and_the_stuck_commit_shows_meanwhile(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    s = Stream()
    first, second = s.batches(2), s.batches(4)
    events: list[WriterEvent] = []
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(migrated_pg_dsn, spool, on_event=events.append, lock_timeout_s=1.5) as writer,
        psycopg.connect(migrated_pg_dsn) as blocker,
    ):
        writer.submit(first)
        wait_until(lambda: _drained(writer), 10, "the first batches to arrive")
        blocker.execute("LOCK TABLE parameter_value_history IN ACCESS EXCLUSIVE MODE")
        writer.submit(second)
        wait_until(lambda: (writer.health().database_busy_s or 0) > 0.5, 5,
                   "the health to show the commit waiting")  # fmt: skip
        wait_until(lambda: any(e.kind is WriterEventKind.DATABASE_LOST for e in events), 10,
                   "the lock timeout to end the commit")  # fmt: skip
        lost = next(e for e in events if e.kind is WriterEventKind.DATABASE_LOST)
        assert "lock timeout" in lost.message
        assert writer.health().spool_depth == len(second)
        blocker.rollback()  # the lock is released: the group commits on the next try
        wait_until(lambda: _drained(writer), 10, "the spool to drain once the lock is gone")
        assert writer.health().database_busy_s is None
    _assert_whole(migrated_pg_dsn, first + second)


def test_a_statement_the_server_never_finishes_is_cut_by_the_statement_timeout(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    """A trigger that sleeps stands for a server stalled mid-statement (a hung disk)."""
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$"
        )
        admin.execute(
            "CREATE TRIGGER stall AFTER INSERT ON write_transactions"
            " FOR EACH STATEMENT EXECUTE FUNCTION stall()"
        )
    events: list[WriterEvent] = []
    batches = Stream().batches(3)
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(migrated_pg_dsn, spool, on_event=events.append, statement_timeout_s=1.0) as w,
    ):
        w.submit(batches)
        wait_until(lambda: any(e.kind is WriterEventKind.DATABASE_LOST for e in events), 10,
                   "the statement timeout to end the commit")  # fmt: skip
        assert "statement timeout" in events[-1].message
        with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
            admin.execute("DROP TRIGGER stall ON write_transactions")
        wait_until(lambda: _drained(w), 10, "the spool to drain once the server answers")
    _assert_whole(migrated_pg_dsn, batches)


def test_a_held_migration_lock_is_a_named_refusal_not_a_hang(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    events: list[WriterEvent] = []
    batches = Stream().batches(3)
    with (
        psycopg.connect(migrated_pg_dsn, autocommit=True) as holder,
        Spool(tmp_path / "spool.db") as spool,
    ):
        holder.execute("SELECT pg_advisory_lock(%s)", (0x616C645F677569,))
        with running(migrated_pg_dsn, spool, on_event=events.append, lock_timeout_s=0.5) as w:
            w.submit(batches)
            wait_until(lambda: any(e.kind is WriterEventKind.SCHEMA_REFUSED for e in events),
                       10, "the migration lock to be named")  # fmt: skip
            refused = next(e for e in events if e.kind is WriterEventKind.SCHEMA_REFUSED)
            assert "migration lock is held by pid" in refused.message
            holder.execute("SELECT pg_advisory_unlock_all()")
            wait_until(lambda: _drained(w), 10, "the spool to drain once the lock is free")
    _assert_whole(migrated_pg_dsn, batches)
