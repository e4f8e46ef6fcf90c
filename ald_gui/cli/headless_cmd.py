"""``ald-gui headless``: the engine as a logging service, without a window.

Stops cleanly on SIGINT and SIGTERM (the stream is flushed into the spool, the run
in progress is ended as aborted). Runs are started and stopped over the loopback
HTTP control endpoint (see ald_gui.engine.control), with the token the console keeps
in its data directory, e.g.::

    TOKEN=$(cat ~/.local/share/ald-gui/control/token)
    curl -X POST -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8765/runs/start?operator=alice'
    curl -X POST -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8765/runs/stop'
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ald_gui.cli.demo_plc import announced
from ald_gui.cli.live import LiveReport
from ald_gui.config import paths
from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig

DEFAULT_CONTROL_PORT = 8765

DEMO_STATE: dict[str, float | bool] = {
    "vacuum_pump.power_on": True,
    "chamber_heater.temperature_set": 200.0,
    "chamber_heater.power_on": True,
    "frontline_heater.temperature_set": 150.0,
    "frontline_heater.power_on": True,
    "backline_heater.temperature_set": 120.0,
    "backline_heater.power_on": True,
    "nitrogen_generator.power_on": True,
    "mfc_1.flow_set": 20.0,
}


def register(sub: Any) -> None:
    p = sub.add_parser("headless", help="record without a window (a logging service)")
    add_engine_arguments(p)
    p.add_argument(
        "--control-port",
        type=int,
        default=DEFAULT_CONTROL_PORT,
        help=f"loopback HTTP port for run control (default {DEFAULT_CONTROL_PORT}, "
        "0 picks a free one, -1 turns it off)",
    )
    if hasattr(socket, "AF_UNIX"):
        p.add_argument(
            "--control-socket",
            type=Path,
            default=None,
            help="also serve run control on a Unix socket at this path (mode 0600)",
        )
    p.add_argument(
        "--duration", type=float, default=None, help="stop by itself after this many seconds"
    )
    p.add_argument("--quiet", action="store_true", help="print only events, no live line")
    p.set_defaults(run=run_headless)


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, help="where the database and spool live")
    p.add_argument(
        "--demo", action="store_true", help="also run the reactor simulator in this process"
    )


def run_headless(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication, QTimer

    from ald_gui.engine.control import ControlServer
    from ald_gui.engine.control_access import ControlTokenError
    from ald_gui.engine.engine import STARTUP_ERRORS, Engine
    from ald_gui.store.credentials import CredentialsError
    from ald_gui.store.health import WriterEvent, WriterEventKind

    config = load_config(args.config)
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    # Signals first: a stop that arrives while the database starts must still be clean.
    # Python runs handlers only between bytecodes: a short timer keeps the interpreter
    # ticking while Qt's loop waits.
    stop_requested = False

    def stop(*_: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    ticker = QTimer()
    ticker.start(200)
    ticker.timeout.connect(lambda: None)
    with maybe_simulator(config, args.demo, args.data_dir) as config:
        engine = Engine(config, data_dir=args.data_dir)
        control = None
        port = args.control_port if args.control_port >= 0 else None
        socket_path = getattr(args, "control_socket", None)
        if port is not None or socket_path is not None:
            try:
                control = ControlServer(engine, port, socket_path)
            except ControlTokenError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            except OSError as exc:
                print(
                    f"error: run control {exc.strerror}. "
                    # The window's no-display fallback lands here too, and the window
                    # takes no --control-port: name the command that does.
                    "`ald-gui headless --control-port 0` picks a free port, "
                    "`--control-port -1` runs without run control, "
                    "`--control-socket` takes another path",
                    file=sys.stderr,
                )
                return 2
        try:
            engine.open()
        except STARTUP_ERRORS as exc:  # e.g. another console on this data directory
            print(f"error: {exc}", file=sys.stderr)
            engine.shutdown()
            if control is not None:
                control.stop()
            # A configuration that cannot work (no password) is bad usage, like a bad file.
            return 2 if isinstance(exc, CredentialsError) else 1
        report = LiveReport(engine, live_line=not args.quiet)
        taken = ""

        def on_event(event: object) -> None:
            # Another console took this machine: a service that goes on would only
            # fill its spool. Stop, say so, exit non-zero; the spool keeps every sample.
            nonlocal taken
            if isinstance(event, WriterEvent) and event.kind is WriterEventKind.LEASE_TAKEN:
                taken = event.message
                app.quit()

        engine.occurred.connect(on_event)
        if control is not None:
            control.start()
            if control.port is not None:
                print(f"run control: http://127.0.0.1:{control.port}/status", flush=True)
            if control.socket_path is not None:
                print(f"run control socket: {control.socket_path}", flush=True)
            print(f"run control token: {control.token_file}", flush=True)
        print(f"recording: {engine.describe()}", flush=True)
        if args.duration is not None:
            QTimer.singleShot(int(args.duration * 1000), app.quit)
        if not stop_requested:
            app.exec()

        ticker.stop()
        if control is not None:
            control.stop()
        clean = engine.shutdown()
        report.close()
        if taken:
            print(
                f"error: stopped recording: {taken}. Every sample this console took is in "
                f"its spool, {engine.data_dir}, none committed under the other's lease, "
                "and withheld from the next start until you decide what becomes of it",
                file=sys.stderr,
                flush=True,
            )
        print(
            "stopped: everything is in the database or the spool"
            if clean
            else "stopped, but some samples may not have reached the spool",
            flush=True,
        )
        return 0 if clean and not taken else 1


@contextmanager
def maybe_simulator(
    config: AppConfig, demo: bool, data_dir: Path | None = None
) -> Iterator[AppConfig]:
    """The config unchanged, or pointed at a simulator started here for the demo (and
    announced in the data directory, for ``plc read`` and ``doctor``)."""
    if not demo:
        yield config
        return
    from ald_gui.sim.server import Simulator

    with (
        Simulator(config, port=0) as sim,
        announced(paths.data_dir(data_dir), "127.0.0.1", sim.port),
    ):
        # A reactor warming up under vacuum is more telling than one standing cold.
        for key, value in DEMO_STATE.items():
            sim.model.set_value(key, value)
        print(f"simulator: reference reactor on 127.0.0.1:{sim.port}", flush=True)
        plc = config.plc.model_copy(update={"host": "127.0.0.1", "port": sim.port})
        yield config.model_copy(update={"plc": plc})
