"""The console process itself failing: killed with SIGKILL mid-run and started again,
stopped with SIGTERM mid-run, and started a second time on the same data directory.

The headless service runs as a real process (``python -m ald_gui headless``) against
the simulator and PostgreSQL, driven over its HTTP run control, as automation would.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.stream import Batch
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.store.migrations import upgrade
from ald_gui.store.server import DataDirInUse, EmbeddedServer, ServerError
from ald_gui.store.spool import SpoolError
from ald_gui.store.spool_file import read_key_sets
from ald_gui.store.spool_items import decode_item
from tests.acting import TESTER
from tests.console_process import Console, write_config
from tests.fixtures.plc import frozen_clock
from tests.recording import (
    Audit,
    Recording,
    committed_history_rows,
    committed_instants,
    settle,
    spool_contents,
)
from tests.waiting import wait_until

MACHINE = "ald-1"
TAGS = len(load_config().polled_tags)  # of the reference reactor: rows per batch
WRITER_APPLICATION = "ald-gui historian"


def _count(dsn: str, query: str, *args: object) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


def _run_rows(dsn: str, run_id: str | uuid.UUID) -> int:
    return _count(dsn, "SELECT count(*) FROM process_data_points WHERE run_id = %s", run_id)


# -- killed with SIGKILL mid-run, while a commit is in flight, then started again --------

# A deferred trigger that makes every commit take a shared advisory lock: while the test
# holds the lock, the console's commit hangs inside COMMIT, after all its rows are in. A
# console killed then loses the acknowledgement of a commit that still goes through.
_GATE = 4711
_GATE_SQL = f"""
CREATE FUNCTION test_commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({_GATE});
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER test_commit_gate AFTER INSERT ON write_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_gate();
"""
_HUNG_COMMIT = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


@dataclass(frozen=True)
class Spooled:
    """A batch found in the spool of the killed console."""

    sampled_at_us: int
    values: int
    run_id: uuid.UUID | None
    group: uuid.UUID | None  # the write group it was handed out in, if any


@dataclass(frozen=True)
class Crash:
    dsn: str
    run_id: uuid.UUID
    spooled: list[Spooled]  # batches in the spool at the moment of the kill
    hung_group: uuid.UUID  # the group whose commit was in flight
    hung_group_committed: bool  # ... and went through after the kill
    restart_exit_status: int
    restart_output: list[str]
    spool_after: tuple[int, int]  # (items, dead letters) after the restarted console


def _read_spool(path: Path) -> tuple[int, list[Spooled]]:
    """(items of any kind, the batches) in the spool file of a console that died."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT kind, n_values, body, txid FROM spool ORDER BY pos").fetchall()
        key_sets = read_key_sets(db)
    spooled = []
    for kind, n_values, body, txid in rows:
        item = decode_item(kind, body, key_sets.__getitem__)
        if isinstance(item, Batch):
            assert len(item.values) == n_values
            group = uuid.UUID(bytes=txid) if txid else None
            spooled.append(Spooled(item.sampled_at_us, n_values, item.run_id, group))
    return len(rows), spooled


@pytest.fixture(scope="module")
def crash(reference_config: AppConfig) -> Iterator[Crash]:
    """A console recording a run is killed (SIGKILL) while a commit is in flight and
    samples wait in its spool; the commit then goes through unacknowledged. The console
    is started again on the same data directory while the PLC refuses connections (a
    gap, committed while the killed console's spool is replayed), and, once the spool
    is replayed, stopped with SIGTERM. The database stays up for the tests to read."""
    root = Path(tempfile.mkdtemp(prefix="ald-crash-"))
    root.chmod(0o711)  # under root, the server account passes through to its cluster
    try:
        with EmbeddedServer(root / "pg" / "data") as server:
            yield _crash(server.dsn, root, reference_config)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _hung_commits(dsn: str) -> int:
    return _count(dsn, _HUNG_COMMIT, WRITER_APPLICATION)


def _crash(dsn: str, root: Path, reference_config: AppConfig) -> Crash:
    with psycopg.connect(dsn) as conn:
        upgrade(conn)
        conn.execute(_GATE_SQL)
        conn.commit()
    data_dir = root / "data"
    with (
        Simulator(reference_config, clock=frozen_clock) as sim,
        psycopg.connect(dsn, autocommit=True) as admin,
    ):
        config = write_config(root / "plant.toml", plc_port=sim.port, dsn=dsn)
        with Console(config, data_dir, root) as first:
            first.ready()
            run_id = uuid.UUID(first.start_run("frank", "killed mid-run"))
            wait_until(lambda: _run_rows(dsn, run_id) >= 5 * TAGS, 10, "run rows in PostgreSQL")
            admin.execute("SELECT pg_advisory_lock(%s)", (_GATE,))
            wait_until(lambda: _hung_commits(dsn) == 1, 10, "a commit to hang inside COMMIT")
            depth = first.spool_depth()
            wait_until(lambda: first.spool_depth() >= depth + 30, 10, "the spool to grow")
            first.kill_9()

        items_at_kill, spooled = _read_spool(data_dir / "spool.sqlite3")
        (hung_group,) = {s.group for s in spooled if s.group is not None}
        hung_items = sum(1 for s in spooled if s.group == hung_group)
        admin.execute("SELECT pg_advisory_unlock(%s)", (_GATE,))
        wait_until(
            lambda: _count(
                dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                WRITER_APPLICATION,
            ) == 0,
            10,
            "the killed console's connection to end",
        )  # fmt: skip
        hung_group_committed = (
            _count(
                dsn, "SELECT count(*) FROM write_transactions WHERE transaction_id = %s", hung_group
            )
            == 1
        )

        # Restart with the PLC away and commits held at the gate until the new session's
        # gap is in the spool, so the gap is committed while the replay is under way.
        sim.refuse_connections()
        admin.execute("SELECT pg_advisory_lock(%s)", (_GATE,))
        with Console(config, data_dir, root) as second:
            second.ready()
            second.wait_for_line("PLC lost")
            wait_until(
                lambda: second.spool_depth() >= items_at_kill - hung_items + 1,
                10,
                "the gap to be journaled beside the replayed items",
            )
            wait_until(lambda: _hung_commits(dsn) == 1, 10, "the replay to reach the gate")
            admin.execute("SELECT pg_advisory_unlock(%s)", (_GATE,))
            sim.clear_faults()
            wanted = {s.sampled_at_us for s in spooled}
            wait_until(lambda: wanted <= committed_instants(dsn), 20, "the spool to be replayed")
            second.wait_for_line("PLC back")
            wait_until(lambda: second.spool_depth() == 0, 10, "the spool to be empty")
            status = second.terminate()
            second.wait_for_line("^stopped")
            output = list(second.lines)
    depth_after, dead = spool_contents(data_dir)
    return Crash(
        dsn, run_id, spooled, hung_group, hung_group_committed, status, output,
        (depth_after, len(dead)),
    )  # fmt: skip


def test_console_killed_mid_commit_then_restarted_loses_and_doubles_nothing(crash: Crash) -> None:
    assert len(crash.spooled) >= 30  # samples only the spool held at the kill
    assert crash.hung_group_committed  # committed, acknowledgement lost: replayed as a no-op
    assert crash.restart_exit_status == 0, crash.restart_output
    assert "stopped: everything is in the database or the spool" in crash.restart_output
    assert crash.spool_after == (0, 0)

    audit = Audit.read(crash.dsn, MACHINE)
    # Every sample once: each instant has one row per tag, in the history and in its run.
    assert set(audit.history_per_instant.values()) == {TAGS}
    assert set(audit.run_rows_per_sample.values()) == {TAGS}
    for s in crash.spooled:  # every batch the killed console had only in its spool
        assert audit.history_per_instant[s.sampled_at_us] == s.values == TAGS
        if s.run_id is not None:
            assert audit.run_rows_per_sample[(s.run_id, s.sampled_at_us)] == TAGS
    assert any(s.run_id == crash.run_id for s in crash.spooled)
    # The ledger: each stream item in one group only (sequence numbers continue across
    # the restart), and its counts are the rows found.
    ranges = sorted((first, last) for first, last, *_ in audit.ledger)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), "groups overlap"
    assert audit.history_rows == sum(h for *_, h, _ in audit.ledger)
    assert audit.run_rows == sum(r for *_, r in audit.ledger)
    assert audit.violations == []
    print(
        f"spooled at the kill: {len(crash.spooled)} batches; database: "
        f"{len(audit.history_per_instant)} batches, {audit.history_rows} history rows, "
        f"{audit.run_rows} run rows, {len(audit.ledger)} groups, {len(audit.gaps)} gaps"
    )


def test_a_run_left_open_by_a_killed_console_is_closed_at_the_next_start(crash: Crash) -> None:
    audit = Audit.read(crash.dsn, MACHINE)
    orphan = audit.runs[crash.run_id]
    last_sample = max(at for run, at in audit.run_rows_per_sample if run == crash.run_id)
    assert orphan.status == "aborted"
    assert orphan.ended_at_us == last_sample + 1
    assert any(f"run {crash.run_id}" in line for line in crash.restart_output)
    assert audit.violations == []


def test_a_gap_after_the_crash_is_not_attributed_to_the_run_left_open(crash: Crash) -> None:
    # The gap was committed before the open run was closed: a run looked up at commit
    # time would be that run; the one the poll thread stamped is none.
    audit = Audit.read(crash.dsn, MACHINE)
    assert audit.gaps, "the restarted console recorded no gap"
    assert all(run_id is None for _, run_id in audit.gaps)
    assert audit.misattributed_gaps() == []


# -- SIGTERM mid-run -----------------------------------------------------------------------


def test_sigterm_mid_run_exits_cleanly_and_ends_the_run_as_aborted(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn=migrated_pg_dsn)
    data_dir = tmp_path / "data"
    with Console(config, data_dir, tmp_path) as console:
        console.ready()
        run_id = console.start_run("grace", "terminated")
        wait_until(lambda: _run_rows(migrated_pg_dsn, run_id) >= 5 * TAGS, 10, "run rows")
        status = console.terminate()
        console.wait_for_line("^stopped")
        output = list(console.lines)
    assert status == 0, output
    assert "stopped: everything is in the database or the spool" in output
    assert spool_contents(data_dir) == (0, [])

    audit = Audit.read(migrated_pg_dsn, MACHINE)
    run = audit.runs[uuid.UUID(run_id)]
    assert run.status == "aborted" and run.reason == "console shut down during the run"
    assert run.ended_at_us is not None
    assert max(at for _, at in audit.run_rows_per_sample) < run.ended_at_us
    assert set(audit.history_per_instant.values()) == {TAGS}
    assert audit.violations == []


# -- a second console on the same data directory -------------------------------------------


def test_second_headless_console_on_the_same_data_directory_is_refused(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn=migrated_pg_dsn)
    data_dir = (tmp_path / "data").resolve()
    with Console(config, data_dir, tmp_path) as first:
        first.ready()
        first.start_run("ivan")
        with Console(config, data_dir, tmp_path) as second:
            status = second.finished()
            refusal = second.stderr()
        assert status == 1
        assert str(data_dir) in refusal and "Traceback" not in refusal, refusal

        before = committed_history_rows(migrated_pg_dsn)
        wait_until(
            lambda: committed_history_rows(migrated_pg_dsn) >= before + 10 * TAGS,
            10,
            "the first console to keep recording",
        )
        assert first.terminate() == 0
    assert Audit.read(migrated_pg_dsn, MACHINE).violations == []


@pytest.fixture
def fast_config(sim_config: AppConfig) -> AppConfig:
    return sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})


def _keeps_recording(engine: Engine, recording: Recording, qtbot: QtBot) -> None:
    seen = len(recording.batches)
    settle(qtbot, lambda: recording.batches_after(seen) >= 10, 5.0, "10 more batches")
    wanted = {b.sampled_at_us for b in recording.batches}
    settle(qtbot, lambda: wanted <= committed_instants(engine.dsn), 10.0, "them to be committed")


def test_second_engine_on_the_same_data_directory_is_refused_and_the_first_records_on(
    fast_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    data_dir = (tmp_path / "data").resolve()
    first = Engine(fast_config, data_dir=data_dir, dsn=migrated_pg_dsn)
    first.act_as(TESTER)
    recording = Recording.of(first)
    first.open()
    try:
        _keeps_recording(first, recording, qtbot)
        second = Engine(fast_config, data_dir=data_dir, dsn=migrated_pg_dsn)
        second.act_as(TESTER)
        with pytest.raises((ServerError, SpoolError)) as refused:
            second.open()
        assert str(data_dir) in str(refused.value)
        assert second.shutdown()
        _keeps_recording(first, recording, qtbot)
    finally:
        assert first.shutdown()


def test_second_engine_with_the_embedded_database_is_refused_naming_the_holder(
    fast_config: AppConfig, pg_tmp_path: Path, qtbot: QtBot
) -> None:
    data_dir = pg_tmp_path / "data"
    first = Engine(fast_config, data_dir=data_dir)  # no DSN: the embedded server
    first.act_as(TESTER)
    recording = Recording.of(first)
    first.open()
    try:
        _keeps_recording(first, recording, qtbot)
        second = Engine(fast_config, data_dir=data_dir)
        second.act_as(TESTER)
        with pytest.raises(DataDirInUse) as refused:
            second.open()
        assert str(data_dir) in str(refused.value)
        assert f"process {os.getpid()}" in str(refused.value)
        assert second.shutdown()
        _keeps_recording(first, recording, qtbot)
    finally:
        assert first.shutdown()
