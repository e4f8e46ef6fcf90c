"""``ald-gui run status|start|stop|pause|resume|abort``: the run control of a running
console, from a shell (``start --recipe NAME [--version V]`` runs a recipe of its library).

Talks to ``ald-gui headless`` over its loopback port (or ``--socket``), with the token
it reads from the console's data directory, so a script needs no token handling of its
own. The token goes to no port another user listens on (any user may take a free
port). Exit status: 0 done, 1 refused or no console answering, 2 no usable token.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ald_gui.cli.headless_cmd import DEFAULT_CONTROL_PORT
from ald_gui.config import paths
from ald_gui.engine.control_access import ControlTokenError, check_port_holder, read_token

_TIMEOUT_S = 15.0


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (``headless --control-socket``)."""

    def __init__(self, path: Path, timeout: float = _TIMEOUT_S) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self._path))


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="start, stop or look at runs of a running headless console")
    p.add_argument("action", choices=("status", "start", "stop", "pause", "resume", "abort"))
    p.add_argument("--operator", default="", help="who starts the run (start)")
    p.add_argument("--note", default="", help="a note on the run (start)")
    p.add_argument("--recipe", default="", help="a recipe of the console's library to run (start)")
    p.add_argument(
        "--version", type=int, help="the recipe's version (default: its latest released)"
    )
    p.add_argument("--reason", default="", help="why the run ends (stop; abort needs one)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        type=int,
        default=DEFAULT_CONTROL_PORT,
        help=f"the console's run-control port (default {DEFAULT_CONTROL_PORT})",
    )
    if hasattr(socket, "AF_UNIX"):
        where.add_argument("--socket", type=Path, help="the console's --control-socket instead")
    p.add_argument("--data-dir", type=Path, help="the console's data directory (its token)")
    p.add_argument("--json", action="store_true", help="print the console's answer as JSON")
    p.set_defaults(run=run_control)


def run_control(args: argparse.Namespace) -> int:
    data_dir = paths.data_dir(args.data_dir)
    try:
        token = read_token(data_dir)
    except ControlTokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if getattr(args, "socket", None) is None:
            check_port_holder(args.port, data_dir)
    except ControlTokenError as exc:  # not the console: no console answering
        print(f"error: {exc}", file=sys.stderr)
        return 1
    method, path = "GET", "/status"
    if args.action == "start":
        start = {"operator": args.operator, "note": args.note, "recipe": args.recipe}
        if args.version is not None:
            start["version"] = str(args.version)
        method, path = "POST", "/runs/start?" + urlencode(start)
    elif args.action in ("stop", "abort"):
        method, path = "POST", f"/runs/{args.action}?" + urlencode({"reason": args.reason})
    elif args.action in ("pause", "resume"):
        method, path = "POST", f"/runs/{args.action}"
    conn: http.client.HTTPConnection
    if getattr(args, "socket", None) is not None:
        conn, where = UnixHTTPConnection(args.socket), str(args.socket)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=_TIMEOUT_S)
        where = f"127.0.0.1:{args.port}"
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        status, body = response.status, json.loads(response.read())
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        print(
            f"error: no console answers run control on {where} ({exc}): is `ald-gui "
            "headless` running, and with this --port or --socket?",
            file=sys.stderr,
        )
        return 1
    finally:
        conn.close()
    if args.json:
        print(json.dumps(body, indent=2))
    if status != 200:
        print(f"error: {body.get('error', body)}", file=sys.stderr)
        return 2 if status == 401 else 1
    if not args.json:
        print(_describe(args.action, body))
    return 0


def _describe(action: str, body: dict[str, Any]) -> str:
    if action == "start":
        run = body["run"]
        what = f" with {run['recipe']} v{run['recipe_version']}" if run.get("recipe") else ""
        return f"run {run['id']} started by {run['operator']}{what}"
    if action in ("stop", "abort"):
        ended = body["ended"]
        reason = f" ({ended['reason']})" if ended.get("reason") else ""
        return f"run {ended['run_id']} ended: {ended['status']}{reason}"
    if action in ("pause", "resume"):
        return _progress(body["recipe"])
    run = body.get("run")
    state = f"run {run['id']} by {run['operator']} active" if run else "idle"
    progress = body.get("recipe")
    return f"{body['machine']}: {state}" + (f"; {_progress(progress)}" if progress else "")


def _progress(recipe: dict[str, Any]) -> str:
    """``recipe 'Al2O3' running, step steps[6].loop.steps[1] (purge), cycle 3 of 20``"""
    words = f"recipe {recipe['recipe']!r} {recipe['state']}"
    if recipe.get("step_path"):
        words += f", step {recipe['step_path']} ({recipe['step_kind']})"
    for loop in recipe.get("loops", []):
        words += f", cycle {loop['cycle']} of {loop['count']}"
    return words + (f": {recipe['message']}" if recipe.get("message") else "")
