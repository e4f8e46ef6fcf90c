"""``ald-gui export --run ID | --from T --to T [--tags a,b] --format csv|parquet
[--layout wide|long] [-o FILE]``: a run or a span of the machine's history to a file,
read through the reader role, with a progress bar on the terminal (rich).

Ctrl+C cancels between two windows of rows (a second one at once): no file is left
behind, not even a partial one. Exit status: 0 written, 1 the database could not be
read or the file not written, 2 a bad request (an unknown run or tag, times in the
wrong order, a folder that cannot be written), 130 cancelled.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.store.server import ServerError

if TYPE_CHECKING:
    from ald_gui.store.export import ExportRequest, Progress

# pyarrow and rich are imported when an export is made, not by every command (their
# import costs a quarter of a second, and pyarrow starts a thread of its own).
FORMATS = ("parquet", "csv")
LAYOUTS = ("wide", "long")

CANCELLED = 130


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export a run or a time span to Parquet or CSV")
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, help="where the database and spool live")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--run", dest="run_id", metavar="ID", help="the run's id (or its first characters)"
    )
    which.add_argument("--from", dest="start", metavar="T", help="span start, ISO time")
    p.add_argument("--to", dest="end", metavar="T", help="span end (excluded), ISO time")
    p.add_argument("--tags", default="", help="tag keys, comma-separated (default: all)")
    p.add_argument("--format", choices=FORMATS, default=FORMATS[0])
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="wide: a column per tag (default); long: time, tag, value, unit",
    )
    p.add_argument("-o", "--output", type=Path, help="the file to write (default: named after it)")
    p.set_defaults(run=_export)


def parse_time(option: str, text: str) -> int:
    """Microseconds since the epoch of an ISO time (no zone: this computer's local
    time); raises ValueError naming ``option`` and the form it takes."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not a time: give an ISO time, e.g. 2026-12-01T08:00 "
            "(local time) or 2026-12-01T07:00Z"
        ) from None
    if at.tzinfo is None:
        at = at.astimezone()
    return (at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _request(args: argparse.Namespace, machine: str) -> ExportRequest:
    from ald_gui.store.export import ExportRequest, Format, Layout

    file_format, layout = Format(args.format), Layout(args.layout)
    tags = tuple(t.strip() for t in args.tags.split(",") if t.strip())
    if args.run_id:
        if args.end:
            raise ValueError("--to goes with --from, not with --run")
        name = f"run-{args.run_id[:8]}"
        return ExportRequest(args.output or Path(f"{name}.{file_format}"), file_format, layout,
                             run=args.run_id, tags=tags)  # fmt: skip
    if not args.end:
        raise ValueError("--from needs --to: the span's end")
    start, end = parse_time("--from", args.start), parse_time("--to", args.end)
    stamp = datetime.fromtimestamp(start / 1e6, UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.output or Path(f"{machine}-{stamp}.{file_format}")
    return ExportRequest(target, file_format, layout, machine=machine, from_us=start,
                         to_us=end, tags=tags)  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    from ald_gui.store.export import ExportCancelled, ExportError, export

    config = load_config(args.config)
    try:
        request = _request(args, config.database.machine)
    except ValueError as exc:
        print(f"ald-gui export: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def cancel(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    console = Console(stderr=True)
    previous = signal.signal(signal.SIGINT, cancel)
    try:
        with database(config, args.data_dir) as (dsn, _where), Bar(
            TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
            TimeRemainingColumn(), console=console, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("export", total=None)

            def show(p: Progress) -> None:
                bar.update(task, completed=p.rows_done, total=p.rows_estimate)

            result = export(dsn, request, show, stop.is_set)
    except ExportError as exc:
        print(f"ald-gui export: {exc}", file=sys.stderr)
        return 2
    except (ExportCancelled, KeyboardInterrupt):
        print(f"ald-gui export: cancelled; {request.target} was not written", file=sys.stderr)
        return CANCELLED
    except (psycopg.Error, ServerError, OSError) as exc:
        print(f"ald-gui export: failed, {request.target} was not written: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
    print(
        f"wrote {result.path}: {result.rows:,} samples of {len(result.tags)} tags at "
        f"{result.instants:,} instants ({request.file_format}, {request.layout})"
    )
    return 0
