"""``ald-gui simulate``: serve the reference reactor over Modbus TCP."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ald_gui.config.load import load_config


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run the reactor simulator (a Modbus TCP server)")
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--host", default=None, help="address to listen on (default: config plc.host)")
    p.add_argument("--port", type=int, default=None, help="port (default: config plc.port)")
    p.set_defaults(run=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from ald_gui.sim.server import run_simulator

    config = load_config(args.config)
    run_simulator(
        config,
        host=args.host or config.plc.host,
        port=args.port if args.port is not None else config.plc.port,
    )
    return 0
