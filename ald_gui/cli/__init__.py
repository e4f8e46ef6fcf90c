"""The ``ald-gui`` command line: one entry point, a subcommand per job.

Exit status: 0 success, 1 a check or operation failed, 2 bad usage or configuration
(nothing was started).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ald_gui import __version__
from ald_gui.cli import config_cmd, db_cmd, doctor_cmd, headless_cmd, plc_cmd, sim_cmd
from ald_gui.config.load import ConfigError


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (config_cmd, plc_cmd, sim_cmd, headless_cmd, db_cmd, doctor_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if not args.demo:
            parser.print_help()
            return 0
        # The console window is not built yet: the demo runs the engine headless.
        args = parser.parse_args(["headless", "--demo"])
    try:
        status: int = args.run(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
