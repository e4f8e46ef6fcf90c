"""``ald-gui run``: the command-line client of the run control, against a real engine.

The command runs on a worker thread (``main()`` in process) while the test's thread
spins Qt's loop, through which the engine answers, as it does in the service.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.cli import main
from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.engine.control_access import ensure_token, read_token, token_path
from tests.control_harness import Control, open_control
from tests.fixtures.plc import quick


@pytest.fixture
def control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Control]:
    data_dir = tmp_path / "data"
    engine, recording, server = open_control(
        quick(sim_config, 0.05), migrated_pg_dsn, data_dir, socket_path=tmp_path / "ctl.sock"
    )
    yield Control(engine, server, recording, read_token(data_dir), data_dir)
    server.stop()
    engine.shutdown()


def _run(qtbot: QtBot, *argv: str) -> int:
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(main, ["run", *argv])
        qtbot.waitUntil(future.done, timeout=20000)
        return future.result()


def test_run_start_and_stop_read_the_token_themselves(
    control: Control, qtbot: QtBot, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--port", str(control.server.port), "--data-dir", str(control.data_dir)]
    assert _run(qtbot, "start", "--operator", "alice", "--note", "w17", *where) == 0
    run = control.engine.run
    # The port's service account runs it; the name typed is in the note.
    assert run is not None and (run.operator, run.note) == ("control port", "w17 (operator: alice)")
    assert f"run {run.id} started by control port" in capsys.readouterr().out

    assert _run(qtbot, "start", "--operator", "bob", *where) == 1
    assert "active" in capsys.readouterr().err

    assert _run(qtbot, "status", *where) == 0
    assert f"run {run.id} by control port active" in capsys.readouterr().out

    assert control.server.socket_path is not None
    on_socket = ["--socket", str(control.server.socket_path), "--data-dir", str(control.data_dir)]
    assert _run(qtbot, "stop", "--reason", "done", *on_socket) == 0
    assert f"run {run.id} ended: completed" in capsys.readouterr().out
    assert control.engine.run is None


def test_a_wrong_or_missing_token_and_no_console_are_clear_messages(
    control: Control, qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = ["--port", str(control.server.port)]
    other = tmp_path / "other"  # another console's data directory: another token
    other.mkdir()
    ensure_token(other)
    assert _run(qtbot, "start", "--operator", "mallory", *port, "--data-dir", str(other)) == 2
    err = capsys.readouterr().err
    assert "wrong token" in err and str(control.data_dir / "control" / "token") in err
    assert control.engine.run is None

    assert _run(qtbot, "status", *port, "--data-dir", str(tmp_path / "empty")) == 2
    err = capsys.readouterr().err
    # Seen trying the demo: the window was running on that data directory, so "is the
    # console running?" misled; the message names the command that serves the control.
    assert "no run-control token" in err and "ald-gui headless" in err

    with socket.socket() as nobody:  # a port that is bound, but where nobody answers
        nobody.bind(("127.0.0.1", 0))
        idle = str(nobody.getsockname()[1])
        assert _run(qtbot, "status", "--port", idle, "--data-dir", str(control.data_dir)) == 1
    assert f"no console answers run control on 127.0.0.1:{idle}" in capsys.readouterr().err


def test_headless_refuses_a_token_file_others_can_read(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    token = token_path(data_dir)
    token.parent.mkdir(parents=True)
    token.write_text("seen-by-everyone\n")
    token.chmod(0o644)
    done = subprocess.run(
        [sys.executable, "-m", "ald_gui", "headless", "--data-dir", str(data_dir), "--quiet"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"the run-control token {token} is readable by other users" in done.stderr
    assert "Traceback" not in done.stderr and "recording:" not in done.stdout
    # Nothing was started: no spool, no database.
    assert not paths.spool_path(data_dir).exists() and not paths.database_dir(data_dir).exists()
