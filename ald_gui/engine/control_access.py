"""Who may use the run control: the token file and the checks every request passes.

A web page in the operator's browser can send requests to 127.0.0.1 (a form posted
to the port, a DNS name rebound to the loopback address), but it cannot read a file,
set an ``Authorization`` header on a cross-site request without a CORS preflight
(which is never granted), forge the ``Host`` header or hide its ``Origin``. So a
request is carried out only if:

- its ``Host`` is the loopback address (or ``localhost``) and the control port,
- it carries no ``Origin`` other than the control port's own,
- it carries ``Authorization: Bearer <token>``, the token read from a file that only
  the user can read (compared in constant time),
- a state-changing call is a POST whose body, if any, is JSON: the content types a
  browser sends without asking (forms, ``text/plain``) are refused.

No Qt here: the command-line client reads the token with this module too.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from pathlib import Path


class ControlTokenError(Exception):
    """The token file cannot be made or is not private; ``str()`` says what to do."""


def token_path(data_dir: Path) -> Path:
    """Where the console keeps its run-control token: ``control/token`` in the data
    directory."""
    return data_dir / "control" / "token"


def ensure_token(data_dir: Path) -> str:
    """The run-control token, made at the first start: 32 random bytes in a file of
    mode 0600 in a directory of mode 0700. Raises ControlTokenError if the file is
    readable by others (it may have been read: remove it and a new one is made)."""
    path = token_path(data_dir)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        if os.name == "posix":
            os.chmod(path.parent, 0o700)  # made by us: a wider mode is never right
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return read_token(data_dir)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    except OSError as exc:
        raise ControlTokenError(
            f"cannot make the run-control token {path}: {exc.strerror}"
        ) from exc
    return read_token(data_dir)


def read_token(data_dir: Path) -> str:
    """The token in the data directory's token file. Raises ControlTokenError if it
    is missing, empty or readable by other users."""
    path = token_path(data_dir)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ControlTokenError(
            f"no run-control token at {path}: is `ald-gui headless` running with this "
            "data directory (--data-dir)? It makes the token when it starts; the window "
            "serves no run control (use its buttons)."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ControlTokenError(f"cannot read the run-control token {path}: {exc}") from exc
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ControlTokenError(
            f"the run-control token {path} is readable by other users (mode "
            f"{stat.S_IMODE(mode):04o}): remove it; the console makes a new one at its "
            "next start"
        )
    if not text:
        raise ControlTokenError(
            f"the run-control token {path} is empty: remove it; the console makes a new "
            "one at its next start"
        )
    return text


_LISTEN = "0A"  # the state column of /proc/net/tcp*


def port_holders(port: int) -> set[int] | None:
    """The user ids of the sockets listening on TCP ``port`` (any address: a listener
    on 0.0.0.0 or :: takes connections to 127.0.0.1 too), or None where the OS does not
    say (no /proc/net/tcp). A client checks them before it sends the token, since any
    user may listen on a free port."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    holders = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address is HEXADDR:HEXPORT; the uid is the eighth column.
            if len(fields) > 7 and fields[3] == _LISTEN and int(fields[1][-4:], 16) == port:
                holders.add(int(fields[7]))
    return holders


def check_port_holder(port: int, data_dir: Path) -> None:
    """Raise ControlTokenError if another user than the token file's owner listens on
    ``port``: a program squatting the console's port must not be sent its token."""
    if os.name != "posix":
        return
    owner = token_path(data_dir).stat().st_uid
    strangers = (port_holders(port) or set()) - {owner}
    if strangers:
        raise ControlTokenError(
            f"127.0.0.1:{port} is held by another user (uid "
            f"{', '.join(map(str, sorted(strangers)))}), not by the console of "
            f"{data_dir}: the token was not sent. Is the console running, and on this "
            "--port? Use --socket with its --control-socket where other users log in"
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not carried out: the HTTP status and a message for the
    client."""

    status: HTTPStatus
    message: str


class Gate:
    """The checks of one control endpoint. ``port`` None: a Unix socket, which no
    browser can reach, so ``Host`` and ``Origin`` are not checked there."""

    def __init__(self, token: str, token_file: Path, port: int | None) -> None:
        self._token = token.encode()
        self._token_file = token_file
        self._hosts = None if port is None else {f"127.0.0.1:{port}", f"localhost:{port}"}

    def refusal(self, headers: Message, *, changes_state: bool, has_body: bool) -> Refusal | None:
        """None if the request may be carried out, else why not (the first reason
        found: Host, Origin, token, then the body's content type)."""
        if self._hosts is not None:
            host = (headers.get("Host") or "").strip().lower()
            if host not in self._hosts:
                wanted = " or ".join(sorted(self._hosts))
                return Refusal(
                    HTTPStatus.FORBIDDEN,
                    f"the Host header {host!r} is not this console's: use {wanted}",
                )
            origin = headers.get("Origin")
            if origin is not None and origin.strip().lower() not in {
                f"http://{h}" for h in self._hosts
            }:
                return Refusal(
                    HTTPStatus.FORBIDDEN,
                    f"requests from web pages ({origin}) are refused: run control is "
                    "for local programs",
                )
        scheme, _, given = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return Refusal(
                HTTPStatus.UNAUTHORIZED,
                "no token: send 'Authorization: Bearer <token>', the token is in "
                f"{self._token_file}",
            )
        if not hmac.compare_digest(given.strip().encode(), self._token):
            return Refusal(
                HTTPStatus.UNAUTHORIZED,
                f"wrong token: the token is in {self._token_file} (the console makes a "
                "new one only when the file is missing)",
            )
        if changes_state and has_body:
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                return Refusal(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"a body of type {content_type or 'unknown'!r} is refused: send the "
                    "parameters in the query string with no body, or as a JSON object "
                    "with Content-Type: application/json",
                )
        return None
