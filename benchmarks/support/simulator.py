"""The reactor simulator in a process of its own, as a PLC is a device of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# The bundled reactor with its physics clock stopped: every read of a register gives
# the same value, so two ways of reading can be compared value for value.
_FROZEN = """
import sys, threading
from ald_gui.config.load import load_config
from ald_gui.sim.server import Simulator
with Simulator(load_config(), "127.0.0.1", int(sys.argv[1]), clock=lambda: 0.0):
    threading.Event().wait()
"""


@contextmanager
def simulator_process(config_file: Path | None = None, *, frozen: bool = False) -> Iterator[int]:
    """``ald-gui simulate`` (the bundled config, or ``config_file``) on a free port;
    yields the port once it accepts connections, stops the process afterwards.
    ``frozen``: the bundled config with the physics stopped (values never change).

    A session of its own, so a Ctrl+C at the terminal reaches the benchmark alone,
    which then stops the simulator itself."""
    port = free_port()
    command = [sys.executable, "-m", "ald_gui", "simulate", "--port", str(port)]
    if frozen:
        command = [sys.executable, "-c", _FROZEN, str(port)]
    elif config_file is not None:
        command += ["--config", str(config_file)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
