"""``ald-gui report --run ID -o FILE.html|FILE.pdf``: a run's one-page report (its
metadata, recipe, plots, alarms, gaps and refused writes), read through the reader
role and rendered offscreen. Exit status: 0 written, 1 the database could not be read
or the file not written, 2 an unknown run or a file that is neither .html nor .pdf.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.store.run_history import RunNotFound
from ald_gui.store.server import ServerError


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="a run's one-page report, as HTML or PDF")
    p.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    p.add_argument("--data-dir", type=Path, help="where the database and spool live")
    p.add_argument(
        "--run",
        dest="run_id",
        metavar="ID",
        required=True,
        help="the run's id (or its first characters)",
    )
    p.add_argument("-o", "--output", type=Path, help="FILE.html or FILE.pdf (default: run-ID.pdf)")
    p.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from ald_gui.ui.report import SUFFIXES, write_report  # Qt: only when a report is made

    config = load_config(args.config)
    target: Path = args.output or Path(f"run-{args.run_id[:8]}.pdf")
    if target.suffix.lower() not in SUFFIXES:
        print(f"ald-gui report: {target}: give a file ending in .html or .pdf", file=sys.stderr)
        return 2
    if not target.parent.is_dir():
        print(
            f"ald-gui report: {target.parent} is not a folder: choose one that exists",
            file=sys.stderr,
        )
        return 2
    try:
        with database(config, args.data_dir) as (dsn, _where):
            data = write_report(dsn, args.run_id, target, config.process)
    except RunNotFound as exc:
        print(f"ald-gui report: {exc}", file=sys.stderr)
        return 2
    except (psycopg.Error, ServerError, OSError) as exc:
        print(f"ald-gui report: failed, {target} was not written: {exc}", file=sys.stderr)
        return 1
    s = data.record.summary
    print(
        f"wrote {target}: run {s.id} ({s.status.value}), {len(data.curves)} curves, "
        f"{s.alarms} alarms raised, {data.gap_count} gaps, {data.refusal_count} refused writes"
    )
    return 0
