"""``ald-gui plc read`` and ``plc write``: talk to the PLC once, from a shell."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ald_gui.cli.demo_plc import plc_config
from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import DataType, Tag
from ald_gui.engine.interlocks import Interlocks
from ald_gui.plc.client import PlcClient, PollResult
from ald_gui.plc.errors import PlcError

_DATA_DIR_HELP = "without --config: find the simulator of a demo running on this data directory"


def register(sub: Any) -> None:
    p = sub.add_parser("plc", help="read or write the PLC once")
    psub = p.add_subparsers(dest="plc_command", metavar="ACTION", required=True)

    read = psub.add_parser("read", help="poll every tag once and print values and timings")
    read.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    read.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    read.add_argument("--json", action="store_true", help="machine-readable output")
    read.set_defaults(run=_read)

    write = psub.add_parser("write", help="write one tag and read it back")
    write.add_argument("tag", help="tag key, e.g. chamber_heater.temperature_set")
    write.add_argument("value", help="engineering value (on/off/true/false for switches)")
    write.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    write.add_argument("--data-dir", type=Path, help=_DATA_DIR_HELP)
    write.set_defaults(run=_write)


def _read(args: argparse.Namespace) -> int:
    config = plc_config(args)
    started = time.perf_counter()
    with PlcClient(config.plc, config.tags) as client:
        try:
            result = client.poll()
        except PlcError as exc:
            elapsed = time.perf_counter() - started
            if args.json:
                print(json.dumps({"ok": False, "error": str(exc), "elapsed_s": elapsed}))
            else:
                print(f"error: {exc} (after {elapsed:.2f} s)", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(_as_json(config, result)))
    else:
        _print_table(config, result)
    return 0


def _as_json(config: AppConfig, result: PollResult) -> dict[str, Any]:
    return {
        "ok": True,
        "sampled_at_us": result.sampled_at_us,
        "requests": result.request_count,
        "round_trip_s": result.round_trip_s,
        "plan": [
            {"kind": r.kind.value, "start": r.start, "count": r.count, "tags": len(r.tags)}
            for r in _plan(config)
        ],
        "values": {
            t.key: {"value": result.values[t.key], "unit": t.unit}
            for t in config.tags
            if t.key in result.values
        },
        "unwired": [t.key for t in config.tags if not t.polled],
    }


def _plan(config: AppConfig) -> tuple[Any, ...]:
    from ald_gui.plc.plan import plan_reads

    return plan_reads(config.polled_tags, config.plc.max_gap).requests


def _format(tag: Tag, value: float | int | bool) -> str:
    if tag.data_type is DataType.BOOL:
        return "on" if value else "off"
    if tag.data_type is DataType.FLOAT32:
        return f"{float(value):.4g}"
    return str(value)


def _print_table(config: AppConfig, result: PollResult) -> None:
    width = max(len(t.key) for t in config.tags)
    component = None
    for tag in config.tags:
        if tag.key not in result.values:
            continue
        if tag.component != component:
            component = tag.component
            print(f"\n{component}")
        print(f"  {tag.key:<{width}}  {_format(tag, result.values[tag.key]):>12} {tag.unit}")
    unwired = [t.key for t in config.tags if not t.polled]
    if unwired:
        print(f"\nnot wired (not polled): {len(unwired)} tags")
    print(f"\n{result.request_count} requests:")
    for r in _plan(config):
        print(f"  {r.kind.value:<15} {r.start:>5} + {r.count:<4} ({len(r.tags)} tags)")
    print(f"poll took {result.round_trip_s * 1000:.1f} ms")


def _parse_value(text: str) -> float | int | bool:
    lowered = text.strip().lower()
    if lowered in ("on", "true", "open"):
        return True
    if lowered in ("off", "false", "closed"):
        return False
    try:
        return int(lowered)
    except ValueError:
        return float(lowered)


def _write(args: argparse.Namespace) -> int:
    config = plc_config(args)
    try:
        tag = config.tag(args.tag)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        value = _parse_value(args.value)
    except ValueError:
        print(f"error: {args.value!r} is not a number or on/off", file=sys.stderr)
        return 2
    with PlcClient(config.plc, config.tags) as client:
        try:
            # The engine's rules hold from the shell too, judged on the PLC's state now.
            interlocks = Interlocks(config.process, units={t.key: t.unit for t in config.tags})
            if interlocks.guards(tag.key):
                interlocks.sampled({k: float(v) for k, v in client.poll().values.items()})
                interlocks.check(tag.key, value)
            readback = client.write(tag, value)
        except PlcError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"{tag.key} = {_format(tag, readback)} {tag.unit}".rstrip())
    return 0
