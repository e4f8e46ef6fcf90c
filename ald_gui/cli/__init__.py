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
from ald_gui.cli import (
    alarms_cmd,
    audit_cmd,
    config_cmd,
    db_cmd,
    doctor_cmd,
    export_cmd,
    headless_cmd,
    plc_cmd,
    recipe_cmd,
    report_cmd,
    run_cmd,
    runs_cmd,
    sim_cmd,
    spool_cmd,
    users_cmd,
)
from ald_gui.cli.failures import explain

# Options that may come before the subcommand as well as after it; after it wins.
# Each is kept under its own name until the subcommand is known, so one given before a
# subcommand that has no use for it is refused rather than silently ignored.
GLOBAL_OPTIONS = ("config", "data_dir", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ald-gui",
        description="Operator console of an ALD reactor. With no command, opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"ald-gui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        dest="global_demo",
        help="run with the built-in reactor simulator and the embedded database",
    )
    parser.add_argument(
        "--config",
        dest="global_config",
        metavar="CONFIG",
        type=Path,
        help="TOML file (default: the bundled one)",
    )
    parser.add_argument(
        "--data-dir",
        dest="global_data_dir",
        metavar="DATA_DIR",
        type=Path,
        help="where the database and spool live",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        config_cmd,
        plc_cmd,
        sim_cmd,
        headless_cmd,
        run_cmd,
        recipe_cmd,
        db_cmd,
        doctor_cmd,
        spool_cmd,
        alarms_cmd,
        runs_cmd,
        export_cmd,
        report_cmd,
        audit_cmd,
        users_cmd,
    ):
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
    _apply_global_options(parser, args)
    try:
        if args.command is None:
            from ald_gui.cli.console_cmd import run_window

            return run_window(args)
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        known = explain(exc)
        if known is None:
            raise
        print(known[1], file=sys.stderr)
        return known[0]
    return status


def _apply_global_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Give the subcommand the options written before it, unless repeated after it."""
    command = " ".join(
        str(v) for k, v in vars(args).items() if k == "command" or k.endswith("_command")
    )
    for name in GLOBAL_OPTIONS:
        given = getattr(args, f"global_{name}")
        delattr(args, f"global_{name}")
        if args.command is None:
            setattr(args, name, given)
        elif not given:
            continue
        elif not hasattr(args, name):
            option = "--" + name.replace("_", "-")
            parser.error(f"{option} does not apply to `{command}`")
        elif not getattr(args, name):
            setattr(args, name, given)


if __name__ == "__main__":
    sys.exit(main())
