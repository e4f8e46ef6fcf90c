"""The ``ald-gui`` command line: one entry point, a subcommand per job.

Exit status: 0 success, 1 a check or operation failed, 2 bad usage or configuration
(nothing was started).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ald_gui import __version__
from ald_gui.cli import config_cmd, db_cmd, doctor_cmd, headless_cmd, plc_cmd, sim_cmd
from ald_gui.config.load import ConfigError
from ald_gui.store.credentials import CredentialsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ald-gui",
        description="Operator console of an ALD reactor. With no command, opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"ald-gui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run with the built-in reactor simulator and the embedded database",
    )
    parser.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    parser.add_argument("--data-dir", type=Path, help="where the database and spool live")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (config_cmd, plc_cmd, sim_cmd, headless_cmd, db_cmd, doctor_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pymodbus logs every failed exchange, with hex dumps; the PLC client reports the
    # same failure once, in words (a gap, an event, the health strip).
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from ald_gui.cli.console_cmd import run_window

        return run_window(args)
    try:
        status: int = args.run(args)
    except (ConfigError, CredentialsError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
