"""``ald-gui db status`` and ``ald-gui db upgrade``: the schema of the database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.store import migrations


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="the database schema: status or upgrade")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, run, text in (
        ("status", _status, "the schema version of the database against the code"),
        ("upgrade", _upgrade, "apply pending migrations"),
    ):
        c = dsub.add_parser(name, help=text)
        c.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        c.add_argument("--data-dir", type=Path, help="where the embedded database lives")
        c.set_defaults(run=run)


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with database(config, args.data_dir) as (dsn, where), psycopg.connect(dsn) as conn:
        state = migrations.status(conn)
    print(where)
    print(f"schema version {state.database_version}, code version {state.code_version}")
    if state.pending:
        print(f"pending migrations: {', '.join(map(str, state.pending))} (ald-gui db upgrade)")
    for problem in state.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0 if state.up_to_date else 1


def _upgrade(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with database(config, args.data_dir) as (dsn, where), psycopg.connect(dsn) as conn:
        try:
            applied = migrations.upgrade(conn)
        except migrations.SchemaError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(where)
    print(
        f"applied migrations {', '.join(map(str, applied))}"
        if applied
        else "schema already up to date"
    )
    return 0
