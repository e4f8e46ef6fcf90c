"""``ald-gui spool list|export|replay``: the dead letters, and their way back.

``list`` and ``export`` only read the spool, so they work while a console records into
it; ``replay`` commits dead letters to the database exactly once (see
:mod:`ald_gui.store.replay`) and needs the spool to itself: stop the console first.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config import paths
from ald_gui.config.load import load_config
from ald_gui.store.dead_letters import DeadLetter
from ald_gui.store.replay import replay_dead_letters
from ald_gui.store.spool import Spool
from ald_gui.store.spool_owner import SpoolError, SpoolInUse
from ald_gui.store.spool_view import SpoolView


def register(sub: Any) -> None:
    p = sub.add_parser("spool", help="dead letters of the local spool: list, export, replay")
    ssub = p.add_subparsers(dest="spool_command", metavar="ACTION", required=True)
    for name, run, text in (
        ("list", _list, "list the dead letters with their reasons (also while a console runs)"),
        ("export", _export, "write the dead letters as JSON lines, raw bytes included"),
        ("replay", _replay, "commit dead letters to the database, exactly once"),
    ):
        c = ssub.add_parser(name, help=text)
        c.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        c.add_argument("--data-dir", type=Path, help="where the database and spool live")
        c.set_defaults(run=run)
        if name == "list":
            c.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "export":
            c.add_argument("file", type=Path, help="where to write them ('-' for stdout)")
        if name == "replay":
            c.add_argument(
                "--position",
                type=int,
                action="append",
                metavar="N",
                help="replay only the dead letter at this position (repeatable)",
            )


def _spool_path(args: argparse.Namespace) -> Path:
    return paths.spool_path(paths.data_dir(args.data_dir))


def _letters(args: argparse.Namespace) -> list[DeadLetter] | None:
    """The dead letters, or None (said on stderr) when there is no readable spool."""
    try:
        with SpoolView(_spool_path(args)) as view:
            return view.dead_letters()
    except SpoolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="milliseconds")


def _what(letter: DeadLetter) -> str:
    item = letter.item
    if item is None:
        return f"undecodable row of kind {letter.kind} ({len(letter.body)} bytes)"
    return f"{type(item).__name__} seq {item.seq}"


def record(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as one JSON object: where, why, the item's fields, the raw row."""
    return {
        "position": letter.position,
        "transaction_id": str(letter.transaction_id),
        "reason": letter.reason,
        "quarantined_at": _when(letter.quarantined_at_us),
        "type": None if letter.item is None else type(letter.item).__name__,
        "item": None if letter.item is None else dataclasses.asdict(letter.item),
        "kind": letter.kind,
        "body_base64": base64.b64encode(letter.body).decode("ascii"),
    }


def _list(args: argparse.Namespace) -> int:
    letters = _letters(args)
    if letters is None:
        return 1
    if args.json:
        print(json.dumps([record(d) for d in letters], default=str))
        return 0
    if not letters:
        print("no dead letters")
    for d in letters:
        print(f"{d.position:>10}  {_when(d.quarantined_at_us)}  {_what(d)}: {d.reason}")
    return 0


def _export(args: argparse.Namespace) -> int:
    letters = _letters(args)
    if letters is None:
        return 1
    lines = "".join(json.dumps(record(d), default=str) + "\n" for d in letters)
    if str(args.file) == "-":
        sys.stdout.write(lines)
    else:
        args.file.write_text(lines)
        print(f"{len(letters)} dead letters written to {args.file}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    path = _spool_path(args)
    try:
        spool = Spool(path)
    except SpoolInUse:
        print(
            f"error: a console is recording into {path}: stop it, then replay "
            "(ald-gui spool list works meanwhile)",
            file=sys.stderr,
        )
        return 1
    with spool, database(config, args.data_dir) as (dsn, _), psycopg.connect(dsn) as conn:
        outcomes = replay_dead_letters(spool, conn, config.database.machine, args.position)
    for o in outcomes:
        at = ", ".join(map(str, o.positions))
        if o.refused:
            print(f"kept      {at}: {o.refused}")
        else:
            print(f"{'was in' if o.already_committed else 'committed'} {at}")
    kept = sum(1 for o in outcomes if o.refused)
    print(f"{len(outcomes) - kept} groups replayed, {kept} kept as dead letters")
    return 1 if kept else 0
