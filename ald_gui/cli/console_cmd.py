"""``ald-gui`` with no command: the console window (``--demo``: with the simulator)."""

from __future__ import annotations

import argparse
import os
import sys

from ald_gui.cli.headless_cmd import DEFAULT_CONTROL_PORT, maybe_simulator, run_headless
from ald_gui.config.load import load_config


def _no_display() -> bool:
    """A Linux machine with no screen to open a window on (a server, an SSH session)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_window(args: argparse.Namespace) -> int:
    if _no_display():
        # Qt would abort without a word a user could act on; the same engine runs
        # without a window instead, and says so.
        print(
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset): running without a "
            "window, as `ald-gui headless`. Ctrl+C stops it.",
            file=sys.stderr,
        )
        headless = argparse.Namespace(
            config=args.config, data_dir=args.data_dir, demo=args.demo,
            control_port=DEFAULT_CONTROL_PORT, duration=None, quiet=False,
        )  # fmt: skip
        return run_headless(headless)

    from ald_gui.ui.app import run_console

    config = load_config(args.config)
    with maybe_simulator(config, args.demo) as config:
        return run_console(config, args.data_dir)
