"""Two real consoles (``ald-gui headless`` processes) with the same machine name on
different data directories, recording into one PostgreSQL: a configuration copied to a
second PC. The second is refused by name while the first records; a console whose
lease was taken while it was cut off from the database stops recording and says so,
and what it sampled meanwhile stays in its own spool.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.stream import Batch, RunEnded, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.store.health import WriterEventKind
from ald_gui.store.lease import LeaseTaken
from ald_gui.store.spool import Spool
from tests.acting import TESTER
from tests.console_process import Console, write_config
from tests.fixtures.pg import scalar
from tests.fixtures.pg_proxy import SocketProxy
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
LOST, TAKEN = WriterEventKind.DATABASE_LOST, WriterEventKind.LEASE_TAKEN


def _run_rows(dsn: str, run_id: str) -> int:
    return scalar(dsn, "SELECT count(*) FROM process_data_points WHERE run_id = %s", run_id)


def _run_state(dsn: str, run_id: str) -> tuple[str, object]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT status, ended_at FROM process_executions WHERE id = %s", (run_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _lease_expired(dsn: str) -> bool:
    return scalar(dsn, "SELECT count(*) FROM machine_leases WHERE expires_at < now()") == 1


def _spooled_instants(data_dir: Path, dsn: str) -> tuple[set[int], int]:
    """The instants of the batches in a closed console's spool that never reached the
    database, and how many of its groups did (which this empties). A group whose commit
    landed just as the link was cut, its acknowledgement lost, is in the ledger and
    stays in the spool until a replay, which the ledger makes a no-op."""
    with psycopg.connect(dsn) as conn:
        ledger = {r[0] for r in conn.execute("SELECT transaction_id FROM write_transactions")}
    instants, landed = set(), 0
    with Spool(data_dir / "spool.sqlite3") as spool:
        while (group := spool.next_group(1_000_000)) is not None:
            if group.transaction_id in ledger:
                landed += 1
            else:
                instants |= {i.sampled_at_us for i in group.items if isinstance(i, Batch)}
            spool.acknowledge(group)
    return instants, landed


def test_a_second_console_with_the_same_machine_is_refused_naming_the_first(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    dsn = migrated_pg_dsn
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn=dsn)
    with Console(config, tmp_path / "pc-1", tmp_path) as first:
        first.ready()
        run_id = first.start_run("ivan", "the first console")
        wait_until(lambda: _run_rows(dsn, run_id) >= 5 * TAGS, 10, "run rows")
        with Console(config, tmp_path / "pc-2", tmp_path) as second:
            status = second.finished()
            refusal = second.stderr()
        assert status == 1, refusal
        assert f"machine {MACHINE} is recorded by another console" in refusal
        assert f"process {first.process.pid}" in refusal
        assert f"data directory {tmp_path / 'pc-1'}" in refusal and "since 20" in refusal
        assert "Traceback" not in refusal
        assert spool_contents(tmp_path / "pc-2") == (0, [])  # it recorded nothing at all

        # The first's run was not closed under it, and its samples go on into it.
        assert _run_state(dsn, run_id) == ("running", None)
        before = _run_rows(dsn, run_id)
        wait_until(lambda: _run_rows(dsn, run_id) >= before + 10 * TAGS, 10, "more run rows")
        assert first.terminate() == 0
    audit = Audit.read(dsn, MACHINE)
    assert audit.runs[uuid.UUID(run_id)].reason == "console shut down during the run"
    assert set(audit.history_per_instant.values()) == {TAGS}
    assert audit.violations == []


def test_a_console_whose_lease_was_taken_while_it_was_cut_off_stops_recording(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    dsn = migrated_pg_dsn
    with SocketProxy(dsn) as link:
        config = {
            name: write_config(
                tmp_path / f"{name}.toml", plc_port=simulator.port, dsn=to, lease_timeout_s=3.0
            )
            for name, to in (("cut", link.dsn), ("direct", dsn))
        }
        with Console(config["cut"], tmp_path / "pc-1", tmp_path) as first:
            first.ready()
            run_id = first.start_run("amy", "cut off")
            wait_until(lambda: _run_rows(dsn, run_id) >= 5 * TAGS, 10, "run rows")
            link.cut()
            first.wait_for_line("Database lost")
            wait_until(lambda: _lease_expired(dsn), 15, "the first's lease to expire")
            with Console(config["direct"], tmp_path / "pc-2", tmp_path) as second:
                second.ready()
                before = committed_history_rows(dsn)
                wait_until(
                    lambda: committed_history_rows(dsn) >= before + 10 * TAGS,
                    10,
                    "the second console to record",
                )
                link.restore()  # the first is back, and finds its lease taken
                status = first.finished()
                first.wait_for_line("Not recording: another console records this machine")
                message = first.stderr()
                assert status == 1, message
                assert "error: stopped recording" in message
                assert f"process {second.process.pid}" in message
                assert "Traceback" not in message

                before = committed_history_rows(dsn)
                wait_until(
                    lambda: committed_history_rows(dsn) >= before + 10 * TAGS,
                    10,
                    "the second console to record on",
                )
                assert second.terminate() == 0

        # Started again with the machine free, it still commits nothing of that spool:
        # those samples overlap the second's record. The operator decides.
        with Console(config["direct"], tmp_path / "pc-1", tmp_path) as again:
            assert again.finished() == 1
            refusal = again.stderr()
        assert "this console stopped recording at" in refusal
        assert f"delete {tmp_path / 'pc-1' / 'lease-lost'}" in refusal
        assert "Traceback" not in refusal

    # What the first sampled while cut off stays in its own spool, none of it committed.
    spooled, landed = _spooled_instants(tmp_path / "pc-1", dsn)
    assert len(spooled) >= 10
    assert landed <= 1, "only the group in flight when the link was cut may have landed"
    assert not spooled & committed_instants(dsn)
    audit = Audit.read(dsn, MACHINE)
    assert set(audit.history_per_instant.values()) == {TAGS}  # nothing doubled
    # The first's run, left open in the database, was ended by the second under its
    # lease, just after its last committed point.
    run = audit.runs[uuid.UUID(run_id)]
    last = max(at for r, at in audit.run_rows_per_sample if r == uuid.UUID(run_id))
    assert run.status == "aborted" and run.ended_at_us == last + 1
    assert audit.violations == []


# -- the engine behind the window: the same, in one process -------------------------------


def test_an_engine_whose_lease_was_taken_ends_its_run_and_refuses_new_ones(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    dsn = migrated_pg_dsn
    # Long enough that a loaded machine does not miss a renewal (one a second) by all
    # of it: the refusal below must meet a live lease.
    database = sim_config.database.model_copy(update={"lease_timeout_s": 3.0})
    config = sim_config.model_copy(
        update={"poll": PollSettings(interval_s=0.02), "database": database}
    )
    with SocketProxy(dsn) as link:
        first = Engine(config, data_dir=tmp_path / "pc-1", dsn=link.dsn)
        first.act_as(TESTER)
        recording = Recording.of(first)
        second = Engine(config, data_dir=tmp_path / "pc-2", dsn=dsn)
        second.act_as(TESTER)
        try:
            first.open()
            first.start_run("eve")
            settle(qtbot, lambda: first.run is not None, 5, "the run to start")
            with pytest.raises(LeaseTaken, match=f"process {os.getpid()}"):
                second.open_database()  # refused while the first holds the machine
            link.cut()
            settle(qtbot, lambda: recording.writer_events(LOST), 10, "the database lost")
            wait_until(lambda: _lease_expired(dsn), 10, "the first's lease to expire")
            second.open_database()
            second.start_recording()
            link.restore()
            settle(qtbot, lambda: recording.writer_events(TAKEN), 15, "the lease found taken")
            settle(qtbot, lambda: first.run is None, 5, "the run to end")
            ended = [i for i in recording.run_items if isinstance(i, RunEnded)]
            assert [(e.status, e.reason) for e in ended] == [
                (RunStatus.ABORTED, "another console took the machine")
            ]
            with pytest.raises(RunNotPossible, match="stopped recording"):
                first.start_run("eve")
            assert "recorded by another console" in first.not_recording
            assert (tmp_path / "pc-1" / "lease-lost").stat().st_mode & 0o777 == 0o600
        finally:
            assert second.shutdown()
            assert first.shutdown()
    assert Audit.read(dsn, MACHINE).violations == []
