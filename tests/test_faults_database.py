"""The historian under database faults, end to end: the real engine polling the simulator
over TCP, a real PostgreSQL that is stopped, killed, has its connections terminated, or
refuses data for good. What must hold afterwards: every batch the engine emitted is in
the database exactly once, in stream order, attributed to its run (or dead-lettered,
if refused for good), and the historian's invariant checks are clean.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.stream import Batch, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.store.health import WriterEventKind
from ald_gui.store.server import EmbeddedServer
from tests.acting import TESTER
from tests.recording import (
    Audit,
    Recording,
    assert_recorded_whole,
    committed_instants,
    deliver_pending_signals,
    settle,
    spool_contents,
)

CONNECTED = WriterEventKind.DATABASE_CONNECTED
LOST = WriterEventKind.DATABASE_LOST
QUARANTINED = WriterEventKind.QUARANTINED
WRITER_APPLICATION = "ald-gui historian"  # application_name of the writer's connection


@pytest.fixture
def fast_config(sim_config: AppConfig) -> AppConfig:
    return sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})


class Session:
    """An engine opened on ``dsn`` with everything it emits recorded; shut down after."""

    def __init__(self, config: AppConfig, data_dir: Path, dsn: str, qtbot: QtBot) -> None:
        self.data_dir = data_dir
        self.qtbot = qtbot
        self.engine = Engine(config, data_dir=data_dir, dsn=dsn)
        self.engine.act_as(TESTER)
        self.recording = Recording.of(self.engine)
        self.clean_shutdown: bool | None = None

    def wait(self, condition: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
        settle(self.qtbot, condition, timeout_s, what)

    def batches(self, n: int, what: str = "batches") -> None:
        """Wait for ``n`` more batches."""
        seen = len(self.recording.batches)
        self.wait(lambda: self.recording.batches_after(seen) >= n, f"{n} {what}")

    def start_run(self, operator: str = "alice", note: str = "") -> None:
        count = len(self.recording.started)
        self.engine.start_run(operator, note)
        self.wait(lambda: len(self.recording.started) > count, "the run to start")

    def stop_run(self, reason: str = "done") -> None:
        count = len(self.recording.ended)
        self.engine.stop_run(reason)
        self.wait(lambda: len(self.recording.ended) > count, "the run to end")

    def writer_events(self, kind: WriterEventKind) -> int:
        return len(self.recording.writer_events(kind))

    def drained_into(self, dsn: str, refused: Iterable[Batch] = ()) -> None:
        """Wait until every batch emitted so far, but the refused, is in the database."""
        wanted = {b.sampled_at_us for b in self.recording.batches} - {
            b.sampled_at_us for b in refused
        }
        self.wait(lambda: wanted <= committed_instants(dsn), "the spool to drain", 20.0)

    def shutdown(self) -> None:
        if self.clean_shutdown is None:
            self.clean_shutdown = self.engine.shutdown()
            deliver_pending_signals()


@pytest.fixture
def session_on(
    fast_config: AppConfig, tmp_path: Path, qtbot: QtBot
) -> Iterator[Callable[[str], Session]]:
    sessions: list[Session] = []

    def make(dsn: str) -> Session:
        s = Session(fast_config, tmp_path / f"data{len(sessions)}", dsn, qtbot)
        sessions.append(s)
        s.engine.open()
        return s

    yield make
    for s in sessions:
        s.shutdown()


def _finish(s: Session, dsn: str, refused: Iterable[Batch] = ()) -> Audit:
    """Drain, shut down cleanly, check the spool is empty and read the database."""
    refused = list(refused)
    s.drained_into(dsn, refused)
    s.shutdown()
    assert s.clean_shutdown
    depth, dead = spool_contents(s.data_dir)
    assert depth == 0
    assert [d.item.seq for d in dead] == [b.seq for b in refused]
    audit = Audit.read(dsn, s.engine.machine)
    batches = s.recording.batches
    print(  # the figures, for `pytest -s`
        f"batches {len(batches)} ({sum(b.run_id is not None for b in batches)} in runs), "
        f"history rows {audit.history_rows}, run rows {audit.run_rows}, "
        f"groups {len(audit.ledger)}, dead letters {len(dead)}"
    )
    return audit


def _run_rows(dsn: str, run_id: uuid.UUID) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM process_data_points WHERE run_id = %s", (run_id,)
        ).fetchone()
    return 0 if row is None else int(row[0])


@pytest.mark.parametrize("outage", ["stop", "kill -9"])
def test_database_down_in_the_middle_of_a_run_loses_and_doubles_nothing(
    outage: str,
    private_pg_server: Callable[[], EmbeddedServer],
    session_on: Callable[[str], Session],
) -> None:
    server = private_pg_server()  # the writer migrates the empty `postgres` database itself
    s = session_on(server.dsn)
    s.wait(lambda: s.writer_events(CONNECTED), "the writer to connect")
    s.start_run("alice", f"database {outage} mid-run")
    s.batches(10, "batches into the database before the outage")
    run_id = s.recording.started[-1].run.id
    s.wait(lambda: _run_rows(server.dsn, run_id) > 0, "run rows to reach the database")

    server.stop() if outage == "stop" else server.kill()
    s.wait(lambda: s.writer_events(LOST), "the writer to notice the outage")
    s.batches(25, "batches spooled during the outage")
    health = s.engine.health_now()
    assert health is not None and not health.database_connected and health.spool_depth >= 20

    server.start()  # same address: the writer finds it again by itself
    s.wait(lambda: s.writer_events(CONNECTED) >= 2, "the writer to reconnect", 15.0)
    s.batches(5, "batches after the database came back")
    s.stop_run()
    s.batches(5, "batches after the run")
    audit = _finish(s, server.dsn)

    assert_recorded_whole(s.recording, audit)
    assert audit.runs[run_id].status == RunStatus.COMPLETED.value
    assert audit.run_rows > 0 and audit.history_rows > audit.run_rows


def test_a_run_that_starts_and_ends_while_the_database_is_down_arrives_whole_later(
    private_pg_server: Callable[[], EmbeddedServer],
    session_on: Callable[[str], Session],
) -> None:
    server = private_pg_server()
    s = session_on(server.dsn)
    s.wait(lambda: s.writer_events(CONNECTED), "the writer to connect")
    s.batches(5, "idle batches")

    server.kill()
    s.wait(lambda: s.writer_events(LOST), "the writer to notice the outage")
    s.start_run("bob", "whole run during the outage")
    s.batches(15, "batches of the run")
    s.stop_run("finished offline")
    s.batches(5, "idle batches after the run")
    run_id = s.recording.started[-1].run.id
    health = s.engine.health_now()
    assert health is not None and health.spool_depth >= 20  # the run lives in the spool

    server.start()
    s.wait(lambda: s.writer_events(CONNECTED) >= 2, "the writer to reconnect", 15.0)
    audit = _finish(s, server.dsn)

    assert_recorded_whole(s.recording, audit)
    assert audit.runs[run_id].status == RunStatus.COMPLETED.value
    assert audit.runs[run_id].reason == "finished offline"
    run_batches = [b for b in s.recording.batches if b.run_id == run_id]
    assert len(run_batches) >= 15
    assert audit.run_rows == len(run_batches) * len(run_batches[0].values)


def _writer_backend(observer: psycopg.Connection[Any], blocked_by: int | None) -> int | None:
    """The writer's backend pid: the one waiting on ``blocked_by`` inside a transaction
    that has written (has an xid), or with ``blocked_by`` None, any that is inside a
    statement or a transaction right now."""
    if blocked_by is not None:
        query = (
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            " AND datname = current_database() AND backend_xid IS NOT NULL"
            f" AND {int(blocked_by)} = ANY(pg_blocking_pids(pid))"
        )
    else:
        query = (
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            " AND datname = current_database() AND state IN ('active', 'idle in transaction')"
        )
    row = observer.execute(query, (WRITER_APPLICATION,)).fetchone()
    return None if row is None else int(row[0])


def test_writer_connection_terminated_mid_transaction_loses_and_doubles_nothing(
    migrated_pg_dsn: str, session_on: Callable[[str], Session]
) -> None:
    s = session_on(migrated_pg_dsn)
    s.wait(lambda: s.writer_events(CONNECTED), "the writer to connect")
    s.start_run("carol", "terminated connections")
    s.batches(5)

    with (
        psycopg.connect(migrated_pg_dsn, autocommit=True) as observer,
        psycopg.connect(migrated_pg_dsn) as locker,
    ):
        locker_pid = locker.info.backend_pid
        # Deterministic: hold the history table so the writer's next commit stops at its
        # COPY, after its ledger row is in; terminate it there.
        mid_transaction = 0
        for _ in range(5):
            locker.execute("LOCK TABLE parameter_value_history IN SHARE MODE")
            s.wait(
                lambda: _writer_backend(observer, locker_pid) is not None,
                "the writer to block inside a commit",
            )
            observer.execute(
                "SELECT pg_terminate_backend(%s)", (_writer_backend(observer, locker_pid),)
            )
            locker.rollback()
            mid_transaction += 1

        # At random moments: whenever the writer's backend is busy, for up to 3 s. A
        # tight loop on purpose: each look is one short query.
        at_random = 0
        deadline = time.monotonic() + 3.0
        while at_random < 10 and time.monotonic() < deadline:
            pid = _writer_backend(observer, None)
            if pid is not None:
                observer.execute("SELECT pg_terminate_backend(%s)", (pid,))
                at_random += 1

    s.batches(5)
    s.stop_run()
    s.batches(5)
    audit = _finish(s, migrated_pg_dsn)

    assert_recorded_whole(s.recording, audit)
    assert s.writer_events(LOST) >= 1
    assert at_random >= 3
    print(f"terminated mid-transaction: {mid_transaction}, at random: {at_random}")


REFUSED_VALUE = 777.0
SETPOINT = "chamber_heater.temperature_set"


def test_a_batch_the_database_refuses_for_good_is_dead_lettered_and_the_stream_goes_on(
    migrated_pg_dsn: str, session_on: Callable[[str], Session], simulator: Simulator
) -> None:
    # A rule of the database, not of the application: this value is refused for good.
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(
            "ALTER TABLE parameter_value_history ADD CONSTRAINT no_777"
            f" CHECK (value <> {REFUSED_VALUE}) NOT VALID"
        )
    s = session_on(migrated_pg_dsn)
    s.wait(lambda: s.writer_events(CONNECTED), "the writer to connect")
    s.start_run("dave", "a refused value mid-run")
    s.batches(3)

    simulator.model.set_value(SETPOINT, REFUSED_VALUE)
    s.wait(
        lambda: any(b.values[SETPOINT] == REFUSED_VALUE for b in s.recording.batches),
        "a batch with the refused value",
    )
    simulator.model.set_value(SETPOINT, 200.0)
    s.wait(lambda: s.recording.batches[-1].values[SETPOINT] == 200.0, "the value to recover")
    refused = [b for b in s.recording.batches if b.values[SETPOINT] == REFUSED_VALUE]
    s.wait(
        lambda: s.writer_events(QUARANTINED) == len(refused),
        f"{len(refused)} quarantine events through engine.occurred",
    )
    s.batches(3)
    s.stop_run()
    s.batches(3)
    audit = _finish(s, migrated_pg_dsn, refused)

    assert len(refused) >= 1 and all(b.run_id is not None for b in refused)
    assert s.writer_events(QUARANTINED) == len(refused)
    _, dead = spool_contents(s.data_dir)
    assert all("no_777" in d.reason for d in dead)
    assert_recorded_whole(s.recording, audit, refused=refused)
    first_event = s.recording.writer_events(QUARANTINED)[0]
    assert f"seq {refused[0].seq}" in first_event.message


def test_a_run_whose_note_the_database_cannot_store_is_refused_at_start(
    migrated_pg_dsn: str, session_on: Callable[[str], Session]
) -> None:
    """PostgreSQL text cannot hold NUL. Accepted, such a run would be refused by the
    database for good, and with it (by design: nothing without its run) every batch
    of the run, history included, would go to the dead letters."""
    from ald_gui.domain.machine import RunNotPossible

    s = session_on(migrated_pg_dsn)
    s.wait(lambda: s.writer_events(CONNECTED), "the writer to connect")
    with pytest.raises(RunNotPossible, match="note"):
        s.engine.start_run("erin", "wafer\x0017")
    # A typed operator name other than the account's goes into the note: checked too.
    with pytest.raises(RunNotPossible, match="note"):
        s.engine.start_run("er\x00in")
    s.start_run("erin", "wafer 17")  # the refusal left the engine able to start a run
    s.batches(3)
    with pytest.raises(RunNotPossible, match="reason"):
        s.engine.stop_run("done\x00")  # the run's end would be refused: it never ends
    s.stop_run()
    audit = _finish(s, migrated_pg_dsn)
    assert_recorded_whole(s.recording, audit)
