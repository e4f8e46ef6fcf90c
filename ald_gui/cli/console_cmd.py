"""``ald-gui`` with no command: the console window (``--demo``: with the simulator)."""

from __future__ import annotations

import argparse
import sys

from ald_gui.cli.display import missing_libraries_message, missing_xcb_packages, no_display
from ald_gui.cli.headless_cmd import DEFAULT_CONTROL_PORT, maybe_simulator, run_headless
from ald_gui.config.load import load_config


def run_window(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file is refused before anything starts
    if no_display():
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
    missing = missing_xcb_packages()
    if missing:
        print(missing_libraries_message(missing), file=sys.stderr)
        return 2

    from ald_gui.ui.app import run_console

    with maybe_simulator(config, args.demo, args.data_dir) as config:
        return run_console(config, args.data_dir)
