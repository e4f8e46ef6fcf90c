"""SIGTERM to a real console window process (offscreen) in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ald_gui.sim.server import Simulator
from tests.console_process import write_config
from tests.fixtures.pg import scalar

# The console as `ald-gui` opens it (run_console), plus a hand that starts a run once
# the engine is open, as an operator would; it prints the run's id.
_DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ald_gui.config.load import load_config
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.stream import RunStarted
from ald_gui.ui.app import run_console
from ald_gui.ui.main_window import MainWindow

app = QApplication(sys.argv[:1])

def said(item):
    if isinstance(item, RunStarted):
        print("run", item.run.id, flush=True)

def start_when_open():
    for window in app.topLevelWidgets():
        if isinstance(window, MainWindow) and window.engine.poller is not None:
            hand.stop()
            window.engine.run_changed.connect(said)
            window.engine.act_as(Actor("alice", Role.OPERATOR))  # as if she logged in
            window.engine.start_run("alice", "signal test")

hand = QTimer()
hand.timeout.connect(start_when_open)
hand.start(50)
sys.exit(run_console(load_config(sys.argv[1]), sys.argv[2]))
"""


def test_sigterm_mid_run_aborts_the_run_and_exits_cleanly_without_asking(
    simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "plant.toml", plc_port=simulator.port, dsn=migrated_pg_dsn)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with (tmp_path / "stderr.txt").open("w+") as err:
        window = subprocess.Popen(
            [sys.executable, "-c", _DRIVER, str(config), str(tmp_path / "data")],
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        try:
            assert window.stdout is not None
            run_id = ""
            for line in window.stdout:  # ends if the window dies: no wait on the clock
                if line.startswith("run "):
                    run_id = line.split()[1]
                    break
            assert run_id, "the run did not start"
            window.send_signal(signal.SIGTERM)
            # A modal "A run is in progress" dialog would wait here for ever.
            window.communicate(timeout=60)
        finally:
            if window.poll() is None:
                window.kill()
            window.communicate()
        err.seek(0)
        stderr = err.read()
    assert window.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert (
        scalar(
            migrated_pg_dsn,
            "SELECT count(*) FROM process_executions WHERE id = %s AND status = 'aborted' "
            "AND reason = 'console stopped by SIGTERM'",
            run_id,
        )
        == 1
    )
