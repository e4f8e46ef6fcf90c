"""``ald-gui run status|start|stop``: the run control of a running console, from a shell.

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
    p.add_argument("action", choices=("status", "start", "stop"))
    p.add_argument("--operator", default="", help="who starts the run (start)")
    p.add_argument("--note", default="", help="a note on the run (start)")
    p.add_argument("--reason", default="", help="why the run ends (stop)")
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
    if args.action == "status":
        method, path = "GET", "/status"
    elif args.action == "start":
        method, path = (
            "POST",
            "/runs/start?" + urlencode({"operator": args.operator, "note": args.note}),
        )
    else:
        method, path = "POST", "/runs/stop?" + urlencode({"reason": args.reason})
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
        return f"run {run['id']} started by {run['operator']}"
    if action == "stop":
        ended = body["ended"]
        return f"run {ended['run_id']} ended: {ended['status']}"
    run = body.get("run")
    state = f"run {run['id']} by {run['operator']} active" if run else "idle"
    return f"{body['machine']}: {state}"
