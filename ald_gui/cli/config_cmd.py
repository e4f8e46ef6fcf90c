"""``ald-gui config``: check a configuration file, or import a PLC tag export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import tomli_w

from ald_gui.config.csv_import import CsvImportError, ImportOptions, import_csv
from ald_gui.config.load import load_config
from ald_gui.domain.tags import ByteOrder, WordOrder


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="check a configuration or import a PLC tag export")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    check = csub.add_parser("check", help="validate a configuration file")
    check.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    check.set_defaults(run=_check)

    imp = csub.add_parser("import-csv", help="convert a PLC tag export (CSV) into a TOML config")
    imp.add_argument("csv", type=Path, help="the export")
    imp.add_argument("-o", "--output", type=Path, help="TOML file to write (default: stdout)")
    imp.add_argument("--host", default="127.0.0.1")
    imp.add_argument("--port", type=int, default=5020)
    imp.add_argument("--unit-id", type=int, default=1)
    imp.add_argument(
        "--word-order", choices=[w.value for w in WordOrder], default=WordOrder.LOW_FIRST.value
    )
    imp.add_argument(
        "--byte-order", choices=[b.value for b in ByteOrder], default=ByteOrder.BIG.value
    )
    imp.add_argument(
        "--input-registers",
        choices=["holding", "input"],
        default="holding",
        help="function code for rows marked input_register: FC3 (holding, as "
        "the reference PLC needs) or FC4 (input)",
    )
    imp.add_argument(
        "--voltage-range",
        default="0,10",
        help="raw range of scaled analog readings, in volts (default 0,10)",
    )
    imp.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="correct a component name, e.g. 'Champer Heater=Chamber Heater'",
    )
    imp.set_defaults(run=_import_csv)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    polled = len(config.polled_tags)
    print(f"ok: {len(config.tags)} tags, {polled} polled, {len(config.tags) - polled} unwired")
    return 0


def _import_csv(args: argparse.Namespace) -> int:
    try:
        low, high = (float(v) for v in args.voltage_range.split(","))
        renames = dict(r.split("=", 1) for r in args.rename)
    except ValueError:
        print("--voltage-range takes LOW,HIGH and --rename takes OLD=NEW", file=sys.stderr)
        return 2
    opts = ImportOptions(
        host=args.host,
        port=args.port,
        unit_id=args.unit_id,
        word_order=WordOrder(args.word_order),
        byte_order=ByteOrder(args.byte_order),
        input_as_holding=args.input_registers == "holding",
        voltage_range=(low, high),
        renames=renames,
    )
    try:
        data, config = import_csv(args.csv, opts)
    except (CsvImportError, OSError) as exc:
        print(f"{args.csv}: {exc}", file=sys.stderr)
        return 2
    header = (
        f"# Converted from {args.csv.name} by `ald-gui config import-csv`.\n"
        f"# {len(config.tags)} tags, {len(config.polled_tags)} polled.\n\n"
    )
    text = header + tomli_w.dumps(data)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {len(config.tags)} tags, {len(config.polled_tags)} polled")
    else:
        sys.stdout.write(text)
    return 0
