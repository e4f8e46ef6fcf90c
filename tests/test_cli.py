"""The ``ald-gui`` command as a user meets it first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ald_gui import __version__


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "ald_gui", "--version"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == f"ald-gui {__version__}"


def test_demo_without_a_display_records_headless_and_stops_cleanly(pg_tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "ald_gui", "--demo", "--data-dir", str(pg_tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # ends when the process does: no wait on the clock
            lines.append(line)
            if line.startswith("recording:"):
                proc.terminate()  # SIGTERM, as a service manager stops it
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines) + err
    assert "no display found" in err and "Traceback" not in err
    assert "stopped: everything is in the database or the spool" in "".join(lines) + out
