"""The machine lease against a real PostgreSQL: one console per machine name.

Two leases on one machine stand for two consoles with the same ``machine`` on different
data directories. What must hold: the second is refused naming the first; the first
reclaims its own lease after a restart; a lease expires only unrenewed, and once taken
over, the old holder's renewals, commits and orphan closing all fail and write nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.domain.stream import Batch, Run, RunStarted
from ald_gui.store.commit import commit_group
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.lease import (
    Lease,
    LeaseLost,
    LeaseTaken,
    SpoolWithheld,
    check_spool_released,
    console_id,
    take_at_start,
)
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.runs import close_orphaned_runs
from ald_gui.store.spool import Spool
from ald_gui.store.writer import Writer
from tests.fixtures.pg import RolesDatabase, scalar
from tests.test_commit import KEYS, T0, TAGS
from tests.waiting import wait_until

MACHINE = "ald-1"


@pytest.fixture
def conn(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_pg_dsn) as conn:
        yield conn


def _lease(tmp_path: Path, name: str, timeout_s: float = 30.0) -> Lease:
    return Lease.for_data_dir(MACHINE, tmp_path / name, timeout_s=timeout_s)


def _expired(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT expires_at < now() FROM machine_leases WHERE machine = %s", (MACHINE,)
    ).fetchone()
    conn.rollback()  # a fresh now() next time
    return bool(row and row[0])


def test_a_second_console_is_refused_naming_the_holder(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    first, second = _lease(tmp_path, "pc-1"), _lease(tmp_path, "pc-2")
    first.hold(conn)
    with pytest.raises(LeaseTaken) as refused:
        second.hold(conn)
    message = str(refused.value)
    assert f"machine {MACHINE} is recorded by another console" in message
    assert f"host {socket.gethostname()}, process {os.getpid()}" in message
    assert f"data directory {tmp_path / 'pc-1'}" in message
    assert "since 20" in message and "database.machine" in message
    assert not second.held
    first.hold(conn)  # the holder renews undisturbed
    assert first.held


def test_a_console_restarted_on_its_data_directory_takes_its_lease_back_at_once(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    killed = _lease(tmp_path, "pc-1")
    killed.hold(conn)  # then killed: never released, far from expiry
    assert console_id(tmp_path / "pc-1") == killed.console  # kept in the data directory
    assert (tmp_path / "pc-1" / "console-id").stat().st_mode & 0o777 == 0o600
    _lease(tmp_path, "pc-1").hold(conn)
    with pytest.raises(LeaseTaken):
        _lease(tmp_path, "pc-2").hold(conn)


def test_an_expired_lease_is_taken_and_the_old_holder_writes_nothing_more(
    conn: psycopg.Connection[Any], migrated_pg_dsn: str, tmp_path: Path
) -> None:
    ids = sync_parameters(conn, MACHINE, TAGS)
    conn.commit()
    away = _lease(tmp_path, "pc-1", timeout_s=0.2)
    away.hold(conn)
    run = Run(uuid.uuid4(), MACHINE, "ann", T0)
    started = [RunStarted(1, run), Batch(2, T0 + 10, dict.fromkeys(KEYS, 1.0), run.id)]
    commit_group(conn, uuid.uuid4(), started, ids, MACHINE, fence=away.fence)
    wait_until(lambda: _expired(conn), 10, "the unrenewed lease to expire")

    other = _lease(tmp_path, "pc-2")
    other.hold(conn)  # taken over: the first was out of reach longer than its lease
    later = [Batch(3, T0 + 20, dict.fromkeys(KEYS, 2.0), run.id)]
    with pytest.raises(LeaseLost) as lost:
        commit_group(conn, uuid.uuid4(), later, ids, MACHINE, fence=away.fence)
    assert str(tmp_path / "pc-2") in str(lost.value)
    with pytest.raises(LeaseTaken):  # not held any more: as a second console
        away.hold(conn)
    with pytest.raises(LeaseTaken):
        close_orphaned_runs(conn, MACHINE, set(), away.fence)
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM write_transactions") == 1
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM process_data_points") == len(KEYS)
    assert (
        scalar(migrated_pg_dsn, "SELECT count(*) FROM process_executions WHERE ended_at IS NULL")
        == 1
    )
    # Under the lease, the run the first left open is closed after its last point.
    assert close_orphaned_runs(conn, MACHINE, set(), other.fence) == [run.id]


def test_a_lease_taken_and_released_meanwhile_is_still_lost(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    away = _lease(tmp_path, "pc-1", timeout_s=0.2)
    away.hold(conn)
    wait_until(lambda: _expired(conn), 10, "the unrenewed lease to expire")
    other = _lease(tmp_path, "pc-2")
    other.hold(conn)
    other.release(conn)  # a clean stop: anyone may start at once ...
    with pytest.raises(LeaseLost):
        away.hold(conn)  # ... but the first's lease is gone all the same (epoch)
    away.hold(conn)  # taken afresh, as at a start
    with pytest.raises(LeaseTaken):
        other.hold(conn)


def test_a_takeover_waits_for_a_commit_in_flight(
    conn: psycopg.Connection[Any], migrated_pg_dsn: str, tmp_path: Path
) -> None:
    away = _lease(tmp_path, "pc-1", timeout_s=0.2)
    away.hold(conn)
    wait_until(lambda: _expired(conn), 10, "the unrenewed lease to expire")
    with psycopg.connect(migrated_pg_dsn) as other_conn, conn.transaction():
        away.fence(conn)  # the first's commit has passed its fence ...
        other_conn.execute("SET lock_timeout = '200ms'")
        other_conn.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            _lease(tmp_path, "pc-2").hold(other_conn)  # ... so the takeover must wait


def test_take_at_start_leaves_a_database_out_of_reach_to_the_writer(tmp_path: Path) -> None:
    lease = _lease(tmp_path, "pc-1")
    assert not take_at_start(lease, f"host={tmp_path} port=1 connect_timeout=1")
    assert not lease.held


def test_a_writer_refused_the_lease_commits_nothing_and_keeps_its_spool(
    conn: psycopg.Connection[Any], migrated_pg_dsn: str, tmp_path: Path
) -> None:
    _lease(tmp_path, "pc-1").hold(conn)  # the other console, recording
    run = Run(uuid.uuid4(), MACHINE, "bob", T0)
    conn.execute(
        "INSERT INTO write_transactions VALUES (%s, %s, now(), 0, 0, 0, 1, 1)",
        (tx := uuid.uuid4(), MACHINE),
    )
    conn.execute(
        "INSERT INTO process_executions (id, machine, operator, started_at, transaction_id)"
        " VALUES (%s, %s, 'bob', now(), %s)",
        (run.id, MACHINE, tx),
    )  # its run, open
    conn.commit()
    events: list[WriterEvent] = []
    with Spool(tmp_path / "pc-2" / "spool.sqlite3") as spool:
        writer = Writer(migrated_pg_dsn, spool, MACHINE, TAGS, on_event=events.append)
        writer.start()
        try:
            writer.submit([Batch(1, T0, dict.fromkeys(KEYS, 1.0), None)])
            wait_until(
                lambda: any(e.kind is WriterEventKind.LEASE_TAKEN for e in events),
                10,
                "the writer to be refused the lease",
            )
            wait_until(lambda: writer.health().spool_depth == 1, 5, "the batch journaled")
            assert "host" in writer.health().lease_taken
        finally:
            assert writer.stop(timeout=5.0)
        assert spool.depth() == 1
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM parameters") == 0  # not even tags
    with pytest.raises(SpoolWithheld, match="recorded by another console"):
        check_spool_released(tmp_path / "pc-2")  # not committed at the next start either
    (tmp_path / "pc-2" / "lease-lost").unlink()  # until the operator says so
    check_spool_released(tmp_path / "pc-2")
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM write_transactions") == 1
    assert (
        scalar(migrated_pg_dsn, "SELECT count(*) FROM process_executions WHERE ended_at IS NULL")
        == 1
    )


def test_the_writer_role_holds_the_lease_and_cannot_delete_it(
    roles_db: RolesDatabase, tmp_path: Path
) -> None:
    """On both servers a console meets (embedded 18, Debian's 15), as the login the
    console records with: the lease works, and its row outlives every holder."""
    with psycopg.connect(roles_db.writer) as conn:
        away = _lease(tmp_path, "pc-1", timeout_s=0.2)
        away.hold(conn)
        away.hold(conn)  # renewed
        with conn.transaction():
            away.fence(conn)
        wait_until(lambda: _expired(conn), 10, "the unrenewed lease to expire")
        other = _lease(tmp_path, "pc-2")
        other.hold(conn)  # taken over
        other.release(conn)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM machine_leases")
        conn.rollback()
    with psycopg.connect(roles_db.reader) as conn:
        assert conn.execute("SELECT epoch FROM machine_leases").fetchall() == [(2,)]
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _lease(tmp_path, "pc-3").hold(conn)
