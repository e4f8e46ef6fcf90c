"""``ald-gui`` with no command: the console window (``--demo``: with the simulator)."""

from __future__ import annotations

import argparse

from ald_gui.cli.headless_cmd import maybe_simulator
from ald_gui.config.load import load_config


def run_window(args: argparse.Namespace) -> int:
    from ald_gui.ui.app import run_console

    config = load_config(args.config)
    with maybe_simulator(config, args.demo) as config:
        return run_console(config, args.data_dir)
