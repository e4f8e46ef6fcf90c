"""``ald-gui recipe``: check a recipe file against the machine, and dry-run it.

Neither touches the PLC: ``check`` judges the file against the configuration's tags
and ``[process]`` rules, ``dry-run`` prints every step in execution order with its
start and length, and the totals. Exit status: 0 ready to run (warnings allowed),
1 the recipe breaks a rule, 2 the file (or the configuration) cannot be read.

The ``recipe`` group takes more actions: ``register`` calls every function in
``ACTIONS`` with the group's subparsers (``actions.add_parser(...)``), so another
module adds its own by appending one function there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ald_gui.cli import recipe_library_cmd
from ald_gui.cli.failures import BAD_USAGE
from ald_gui.config.load import load_config
from ald_gui.config.recipe_check import Finding, RecipeCheck, check_recipe
from ald_gui.config.recipe_file import load_recipe
from ald_gui.domain.recipe import Loop
from ald_gui.domain.recipe_timeline import Timeline, TimelineEntry, tree

READY = 0
BREAKS_A_RULE = 1


def _add_check(actions: Any) -> None:
    check = actions.add_parser(
        "check", help="validate a recipe file against the machine (no PLC needed)"
    )
    check.add_argument("file", type=Path, help="the recipe (TOML)")
    check.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=_check)


def _add_dry_run(actions: Any) -> None:
    dry = actions.add_parser(
        "dry-run", help="every step of a recipe in order, with its start and length, and totals"
    )
    dry.add_argument("file", type=Path, help="the recipe (TOML)")
    dry.add_argument("--config", type=Path, help="TOML file (default: the bundled one)")
    dry.add_argument(
        "--start",
        action="append",
        default=[],
        metavar="TAG=VALUE",
        help="a tag's present value, to estimate a ramp from (repeatable)",
    )
    dry.add_argument("--json", action="store_true", help="machine-readable output")
    dry.set_defaults(run=_dry_run)


ACTIONS: list[Callable[[Any], None]] = [_add_check, _add_dry_run, recipe_library_cmd.register]


def register(sub: Any) -> Any:
    """Add ``ald-gui recipe`` and every action of ``ACTIONS``; return its subparsers."""
    p = sub.add_parser("recipe", help="check or dry-run a recipe file; the recipe library")
    actions = p.add_subparsers(dest="recipe_command", metavar="ACTION", required=True)
    for add in ACTIONS:
        add(actions)
    return actions


def _check(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.file)  # RecipeError: exit 2 (cli.failures)
    result = check_recipe(recipe, load_config(args.config))
    if args.json:
        print(json.dumps(_check_json(args.file, result), ensure_ascii=False, indent=2))
    else:
        for finding in result.findings:
            print(f"{args.file}: {finding}")
        print(f"{args.file}: {_verdict(result)}")
    return READY if result.ok else BREAKS_A_RULE


def _dry_run(args: argparse.Namespace) -> int:
    try:
        start = {k: float(v) for k, v in (s.split("=", 1) for s in args.start)}
    except ValueError:
        print(f"--start takes TAG=VALUE, VALUE a number (given: {args.start})", file=sys.stderr)
        return BAD_USAGE
    recipe = load_recipe(args.file)
    result = check_recipe(recipe, load_config(args.config), start)
    if args.json:
        data = _check_json(args.file, result)
        data["steps"] = [_entry_json(e) for e in result.timeline]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return READY if result.ok else BREAKS_A_RULE
    try:
        _print_table(result.timeline)
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        # Python's advice (signal docs): point stdout at devnull so the exit's flush
        # does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return READY if result.ok else BREAKS_A_RULE
    print(f"total: {result.timeline.summary()}")
    if result.timeline.open_ended:
        print("(≤: the step ends on a condition; counted at its timeout)")
    for finding in result.findings:
        print(f"{args.file}: {finding}")
    print(f"{args.file}: {_verdict(result, totals=False)}")
    return READY if result.ok else BREAKS_A_RULE


def _verdict(result: RecipeCheck, *, totals: bool = True) -> str:
    r = result.recipe
    name = f"{r.name} v{r.version} (sha256 {r.sha256[:12]})"
    if not result.ok:
        errors, warnings = len(result.errors), len(result.warnings)
        return (
            f"{name} breaks {errors} rule{'s' * (errors != 1)}"
            f"{f' and has {warnings} warning' + 's' * (warnings != 1) if warnings else ''}"
            ": not ready to run"
        )
    warned = f" with {len(result.warnings)} warning(s)" if result.warnings else ""
    summary = f": {result.timeline.summary()}" if totals else ""
    return f"{name} is ready to run{warned}{summary}"


def _print_table(t: Timeline) -> None:
    paths = max(len(p) for p, _ in tree(t.recipe))
    depth = max((p.count(".loop.") for p, _ in tree(t.recipe)), default=0)
    loops = [s.action for _, s in tree(t.recipe) if isinstance(s.action, Loop)]
    counts = max((len(str(loop.count)) for loop in loops), default=1)
    cycles = max(6, depth * (2 * counts + 2))
    print(f"{'start':>12}  {'length':>10}  {'cycles':<{cycles}}  {'step':<{paths}}  kind   detail")
    for e in t:
        mark = " ≤" if e.open_ended else "  "
        where = " ".join(f"{p.cycle}/{p.count}" for p in e.loops)
        print(
            f"{_clock(e.start_ms):>12}  {e.duration_ms / 1000:>8.3f} s{mark}{where:<{cycles}}  "
            f"{e.path:<{paths}}  {e.kind.value:<5}  {e.detail}"
        )


def _clock(ms: int) -> str:
    seconds, rest = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{rest:03d}"


def _check_json(file: Path, result: RecipeCheck) -> dict[str, Any]:
    t = result.timeline
    r = result.recipe
    return {
        "file": str(file),
        "recipe": {"name": r.name, "version": r.version, "sha256": r.sha256},
        "ok": result.ok,
        "findings": [_finding_json(f) for f in result.findings],
        "total_ms": t.total_ms,
        "open_ended": t.open_ended,
        "open_ended_ms": t.open_ended_ms,
        "open_ended_steps": list(t.open_ended_paths),
        "unestimated_ramps": list(t.unestimated_ramps),
        "step_count": t.step_count,
        "pulses_per_valve": t.pulses_per_valve,
    }


def _finding_json(f: Finding) -> dict[str, str]:
    return {
        "path": f.path,
        "severity": f.severity.value,
        "rule": f.rule.value,
        "message": f.message,
    }


def _entry_json(e: TimelineEntry) -> dict[str, Any]:
    return {
        "path": e.path,
        "kind": e.kind.value,
        "cycles": list(e.cycles),
        "start_ms": e.start_ms,
        "duration_ms": e.duration_ms,
        "detail": e.detail,
        "open_ended": e.open_ended,
        "ramp_estimated": e.ramp_estimated,
    }
