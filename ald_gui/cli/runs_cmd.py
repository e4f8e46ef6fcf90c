"""``ald-gui runs list|show|golden``: the recorded runs of every machine in the
database, read through the reader role (store.run_history); ``golden --run ID`` marks
a run the golden one of its recipe (or ``--unmark`` takes the mark away) through the
writer role (store.golden_runs). Exit status: 0 done, 1 the database could not be
read, has no such run or refused the marking, 2 a bad option.
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.cli.alarms_cmd import since_us
from ald_gui.cli.database import database
from ald_gui.config.load import load_config
from ald_gui.domain.stream import RunStatus, now_us
from ald_gui.store.golden_runs import GoldenRefused, golden_run, mark_golden
from ald_gui.store.roles import Group
from ald_gui.store.run_history import (
    RunFilter,
    RunNotFound,
    RunRecord,
    RunSummary,
    count_runs,
    find_run_id,
    list_runs,
    run_record,
)


def register(sub: Any) -> None:
    p = sub.add_parser("runs", help="the recorded runs: list them, show one")
    verbs = p.add_subparsers(dest="runs_command", metavar="VERB", required=True)
    ls = verbs.add_parser("list", help="the runs, newest first, with their figures")
    show = verbs.add_parser("show", help="one run: metadata, recipe, steps, alarms")
    golden = verbs.add_parser("golden", help="mark a run the golden one of its recipe")
    for v in (ls, show, golden):
        v.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
        v.add_argument("--data-dir", type=Path, help="where the database and spool live")
        v.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--machine", default="", help="only this machine's runs (default: all)")
    ls.add_argument(
        "--since", help="runs started since: a time ago (30m, 24h, 7d) or an ISO time"
    )  # fmt: skip
    ls.add_argument("--status", choices=[s.value for s in RunStatus], help="only runs so ended")
    ls.add_argument("--recipe", default="", help="only runs of this recipe (its name)")
    ls.add_argument("--operator", default="", help="only runs started by this operator")
    ls.add_argument("--search", default="", help="text to find in the note or the reason")
    ls.add_argument("--limit", type=int, default=50, help="runs per page (default 50)")
    ls.add_argument("--page", type=int, default=1, help="which page (default 1, the newest)")
    ls.set_defaults(run=_list)
    show.add_argument("run_id", metavar="ID", help="the run's id or its first characters")
    show.set_defaults(run=_show)
    golden.add_argument(
        "--run", dest="run_id", required=True, help="the run's id or its first characters"
    )
    golden.add_argument(
        "--unmark", action="store_true", help="leave its recipe without a golden run"
    )  # fmt: skip
    golden.add_argument("--by", default="", help="who marks it (default: your login name)")
    golden.add_argument("--note", default="", help="why this run")
    golden.set_defaults(run=_golden)


def _when(us: int | None) -> str:
    if us is None:
        return "-"
    return datetime.fromtimestamp(us / 1e6).isoformat(sep=" ", timespec="seconds")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    return (
        f"{minutes} min {s:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
    )


def _recipe(r: RunSummary) -> str:
    if not r.recipe:
        return "(no recipe)"
    return f"{r.recipe} v{r.recipe_version}" if r.recipe_version else r.recipe


def summary_json(r: RunSummary) -> dict[str, Any]:
    return {
        "id": str(r.id), "machine": r.machine, "started_us": r.started_us,
        "ended_us": r.ended_us, "duration_s": r.duration_s, "operator": r.operator,
        "note": r.note, "recipe": r.recipe, "recipe_version": r.recipe_version,
        "status": r.status.value, "reason": r.reason, "alarms": r.alarms, "gaps": r.gaps,
        "refusals": r.refusals,
    }  # fmt: skip


def _filter(args: argparse.Namespace) -> RunFilter:
    """Raises ValueError naming the bad option."""
    if args.limit < 1 or args.page < 1:
        raise ValueError("--limit and --page count from 1")
    return RunFilter(
        machine=args.machine,
        since_us=None if args.since is None else since_us(args.since, now_us()),
        status=None if args.status is None else RunStatus(args.status),
        recipe=args.recipe,
        operator=args.operator,
        text=args.search,
        limit=args.limit,
        offset=(args.page - 1) * args.limit,
    )


def _list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        wanted = _filter(args)
    except ValueError as exc:
        print(f"ald-gui runs list: {exc}")
        return 2
    with database(config, args.data_dir) as (dsn, _where), _connect(dsn) as conn:
        runs, total = list_runs(conn, wanted), count_runs(conn, wanted)
    if args.json:
        print(json.dumps({"total": total, "runs": [summary_json(r) for r in runs]}))
        return 0
    header = ("run", "machine", "started", "duration", "status", "recipe", "operator",
              "alarms", "gaps", "refusals")  # fmt: skip
    rows = [header] + [
        (
            str(r.id)[:8],
            r.machine,
            _when(r.started_us),
            "-" if r.duration_s is None else _duration(r.duration_s),
            r.status.value,
            _recipe(r),
            r.operator,
            str(r.alarms),
            str(r.gaps),
            str(r.refusals),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    first = wanted.offset + 1 if runs else 0
    print(f"runs {first}-{wanted.offset + len(runs)} of {total}")
    return 0


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, connect_timeout=10)


def _show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with database(config, args.data_dir) as (dsn, _where), _connect(dsn) as conn:
        try:
            record = run_record(conn, find_run_id(conn, args.run_id))
        except RunNotFound as exc:
            print(f"ald-gui runs show: {exc} (ald-gui runs list shows the runs)")
            return 1
        r = record.summary
        golden = bool(r.recipe) and golden_run(conn, r.machine, r.recipe) == r.id
    if args.json:
        print(json.dumps({**record_json(record), "golden": golden}))
    else:
        print("\n".join(record_text(record, golden)))
    return 0


def record_json(record: RunRecord) -> dict[str, Any]:
    return {
        **summary_json(record.summary),
        "recipe_sha256": record.recipe_sha256,
        "recipe_snapshot": json.loads(record.recipe_snapshot) if record.recipe_snapshot else None,
        "steps": [
            {
                "path": s.path,
                "kind": s.kind,
                "cycles": list(s.cycles),
                "started_us": s.started_at_us,
                "ended_us": s.ended_at_us,
                "outcome": s.outcome,
                "requested_ms": s.requested_ms,
                "measured_ms": s.measured_ms,
                "detail": s.detail,
            }
            for s in record.steps
        ],
        "alarms": [
            {
                "at_us": a.at_us,
                "alarm": a.alarm,
                "event": a.event.value,
                "state": a.state.value,
                "priority": int(a.priority),
                "value": a.value,
                "operator": a.operator,
                "note": a.note,
            }
            for a in record.alarms
        ],
    }


def record_text(record: RunRecord, golden: bool = False) -> list[str]:
    r = record.summary
    lines = [
        f"run {r.id} on {r.machine}",
        f"  started   {_when(r.started_us)} by {r.operator or '(nobody named)'}",
        f"  ended     {_when(r.ended_us)}"
        + ("" if r.duration_s is None else f" after {_duration(r.duration_s)}"),
        f"  status    {r.status.value}" + (f": {r.reason}" if r.reason else ""),
        f"  recipe    {_recipe(r)}"
        + (f" (sha256 {record.recipe_sha256[:12]})" if record.recipe_sha256 else ""),
        *(["  golden    the golden run of its recipe"] if golden else []),
        f"  note      {r.note}" if r.note else "  note      -",
        f"  alarms raised {r.alarms}, gaps {r.gaps}, refused writes {r.refusals}",
        f"steps ({len(record.steps)}):" if record.steps else "steps: none recorded",
    ]
    for s in record.steps:
        cycles = "" if not s.cycles else " cycle " + ".".join(map(str, s.cycles))
        took = _duration((s.ended_at_us - s.started_at_us) / 1e6)
        lines.append(
            f"  {_when(s.started_at_us)}  {s.path} {s.kind}{cycles} {took} {s.outcome}"
            + (f" ({s.detail})" if s.detail else "")
        )
    lines.append(
        f"alarm entries ({len(record.alarms)}):" if record.alarms else "alarm entries: none"
    )
    for a in record.alarms:
        value = "" if a.value is None else f" value {a.value:g}"
        lines.append(f"  {_when(a.at_us)}  {a.alarm} {a.event.value} ({a.state.value}){value}")
    return lines


def _golden(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    by = args.by or getpass.getuser()
    with database(config, args.data_dir, Group.WRITER) as (dsn, _where), _connect(dsn) as conn:
        try:
            mark = mark_golden(
                conn, find_run_id(conn, args.run_id), by, unmark=args.unmark, note=args.note
            )
        except (RunNotFound, GoldenRefused) as exc:
            print(f"ald-gui runs golden: {exc}")
            return 1
    if args.json:
        golden = None if mark.run_id is None else str(mark.run_id)
        print(json.dumps({"machine": mark.machine, "recipe": mark.recipe, "golden": golden,
                          "marked_by": mark.marked_by, "marked_us": mark.marked_us}))  # fmt: skip
    elif mark.run_id is None:
        print(f"{mark.recipe!r} on {mark.machine} has no golden run now (unmarked by {by})")
    else:
        print(f"run {mark.run_id} is the golden run of {mark.recipe!r} on {mark.machine} now")
    return 0
