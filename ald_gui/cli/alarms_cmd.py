"""``ald-gui alarms report [--since WHEN] [--json]``: the alarm performance figures
(ISA-18.2 / EEMUA 191) of the machine from its alarm journal, read through the reader
role. Exit status: 0 done, 1 the database could not be read, 2 a bad ``--since``.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.domain.alarm_kpis import FLOOD_ALARMS, AlarmKpis
from ald_gui.domain.stream import now_us
from ald_gui.store.alarm_journal import report
from ald_gui.store.server import ServerError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def register(sub: Any) -> None:
    p = sub.add_parser("alarms", help="alarm performance figures from the alarm journal")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    r = verbs.add_parser("report", help="alarms per 10 minutes, floods, the most frequent, ...")
    r.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    r.add_argument("--data-dir", type=Path, help="where the database and spool live")
    r.add_argument(
        "--since", default="24h",
        help="start of the span: a time ago (30m, 24h, 7d) or an ISO time (default 24h)",
    )  # fmt: skip
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(run=_report)


def since_us(text: str, now: int) -> int:
    """The start of the span ``text`` names; raises ValueError saying what it takes."""
    if m := _AGO.match(text.strip()):
        return now - int(float(m[1]) * _UNITS[m[2]] * 1e6)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a time ago (30m, 24h, 7d) or an ISO time (2026-12-01T08:00)"
        ) from None
    if at.tzinfo is None:
        at = at.astimezone()  # the local time of this computer
    return int(at.astimezone(UTC).timestamp() * 1e6)


def _report(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    now = now_us()
    try:
        start = since_us(args.since, now)
    except ValueError as exc:
        print(f"ald-gui alarms report: {exc}")
        return 2
    try:
        with database(config, args.data_dir) as (dsn, _where):
            kpis = report(dsn, config.database.machine, start, now)
    except (psycopg.Error, ServerError) as exc:
        print(f"ald-gui alarms report: the alarm journal could not be read: {exc}")
        return 1
    print(json.dumps(asdict(kpis)) if args.json else _text(kpis))
    return 0


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6).isoformat(sep=" ", timespec="seconds")


def _text(k: AlarmKpis) -> str:
    lines = [
        f"alarms from {_when(k.since_us)} to {_when(k.until_us)}: {k.alarms}",
        f"per 10 minutes: {k.per_10_minutes:.2f} on average, {k.busiest_10_minutes} at most",
        f"in flood (more than {FLOOD_ALARMS} in 10 minutes): {k.flood_s:.0f} s "
        f"({k.flood_share:.1%} of the time)",
        "most frequent:" + ("" if k.most_frequent else " none"),
        *(f"  {f.count:>6}  {f.alarm}" for f in k.most_frequent),
        "chattering (3 or more in a minute):" + ("" if k.chattering else " none"),
        *(f"  {c.most_in_a_minute:>6}  {c.alarm}" for c in k.chattering),
        "standing (active for more than a day):" + ("" if k.standing else " none"),
        *(f"  {s.active_s / 3600:>6.1f} h  {s.alarm} ({s.state.value})" for s in k.standing),
    ]
    return "\n".join(lines)
