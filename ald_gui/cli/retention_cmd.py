"""``ald-gui db retention``: drop the partitions of samples older than the span kept."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.config.partitions import parse_keep
from ald_gui.store import retention
from ald_gui.store.credentials import CredentialsError, redact
from ald_gui.store.roles import Group


def register(dsub: Any) -> None:
    """Add ``retention`` to the ``db`` actions."""
    c = dsub.add_parser(
        "retention",
        help="drop whole partitions of samples older than the span kept (runs stay whole)",
    )
    c.add_argument(
        "--keep", metavar="SPAN",
        help="how much history to keep, e.g. 90d or 12w (default: [partitions] keep)",
    )  # fmt: skip
    c.add_argument("--dry-run", action="store_true", help="say what would go, drop nothing")
    c.add_argument(
        "--admin-dsn",
        help="a connection as a member of ald_owner (an external server: the console's own "
        "login may not drop); its password from ALD_GUI_DB_ADMIN_PASSWORD or libpq's own",
    )
    c.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    c.add_argument("--data-dir", type=Path, help="where the embedded database lives")
    c.set_defaults(run=_retention)


@contextmanager
def _owner(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.admin_dsn:
        # Here, not at the top: db_cmd imports this module to register the action.
        from ald_gui.cli.db_cmd import admin_conninfo

        dsn = admin_conninfo(args.admin_dsn)
        yield dsn, f"database {redact(dsn)}"
        return
    with database(load_config(args.config), args.data_dir, Group.OWNER) as found:
        yield found


def _retention(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    text = args.keep or config.partitions.keep
    if not text:
        print(
            "error: no retention policy: give --keep (e.g. --keep 90d) or set keep in the "
            "configuration's [partitions] section",
            file=sys.stderr,
        )
        return 2
    try:
        keep = parse_keep(text)
    except ValueError as exc:
        print(f"error: --keep: {exc}", file=sys.stderr)
        return 2
    try:
        with _owner(args) as (dsn, where), psycopg.connect(dsn) as conn:
            if args.dry_run:
                done = retention.plan(conn, keep)
                conn.rollback()
            else:
                done = retention.apply(conn, keep)
    except (psycopg.Error, retention.RetentionError, CredentialsError) as exc:
        print(f"error: retention: {exc}".strip(), file=sys.stderr)
        return 1
    print(where)
    _report(done, dry_run=args.dry_run)
    return 0


def _report(done: retention.RetentionPlan, *, dry_run: bool) -> None:
    stamp = "%Y-%m-%d %H:%M UTC"
    print(f"keeping {done.keep.days} days: samples from {done.asked.astimezone(UTC):{stamp}} on")
    if done.runs_kept:
        print(f"{len(done.runs_kept)} runs reach across that time and are kept whole: "
              + ", ".join(map(str, done.runs_kept[:5])))  # fmt: skip
    if not done.partitions:
        print("nothing to drop: no partition lies wholly before the cut")
        return
    assert done.cut is not None
    verb = "would drop" if dry_run else "dropped"
    print(
        f"{verb} {len(done.partitions)} partitions before {done.cut:{stamp}}: "
        + ", ".join(f"{done.rows(t)} rows of {t}" for t in retention.DROPPED_TABLES)
    )
    for p in done.partitions:
        span = f"{p.range_from.astimezone(UTC):{stamp}} to {p.range_to.astimezone(UTC):{stamp}}"
        print(f"  {p.partition}  {span}  {p.rows} rows")
