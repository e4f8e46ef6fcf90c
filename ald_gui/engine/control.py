"""A small HTTP control endpoint for the headless service, on the loopback interface
and, where the OS has them, a Unix socket.

Automation starts and stops runs the way it talks to most services: plain HTTP with
JSON answers, from curl, a MES script or ``ald-gui run``.

    GET  /status                          engine, run, recipe progress and health
    POST /runs/start?operator=NAME&note=  start a run (409 if not possible), with
         [&recipe=NAME[&version=V]]       a recipe of the library (control_routes)
    POST /runs/stop?reason=               stop the active run (409 if none)
    POST /runs/pause, /runs/resume        hold a recipe at its next step, go on
    POST /runs/abort  {"reason": "..."}   the safe state, then the run ends aborted

Every request carries ``Authorization: Bearer <token>`` (the token file is made at the
first start; see control_access for all the checks). The token is the credential of a
service account, ``control port``, whose role is ``[accounts] control_port_role``: a
command its role does not allow is answered 403, naming the missing permission. The run's
operator is that account; an ``operator`` given goes into the run's note. Parameters
come in the query string or as a JSON object body.

Requests are handled on the server's threads and submitted on the engine's thread (a
queued signal), so the engine is only ever touched from one thread; each answer is
the outcome that carries *its* request's id, whatever other clients asked meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import socket
import socketserver
import stat
import threading
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ald_gui.domain.accounts import Actor, PermissionDenied
from ald_gui.domain.alarms import AlarmBoard, AlarmCommandDone, AlarmCommandRefused
from ald_gui.domain.commands import Command, RequestId
from ald_gui.domain.events import RunRefused
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.recipe_progress import RecipeProgress
from ald_gui.domain.stream import RunEnded, RunStarted
from ald_gui.engine.control_access import Gate, Refusal, ensure_token, token_path
from ald_gui.engine.control_routes import ROUTE_LIST, ROUTES, command_for
from ald_gui.engine.engine import Engine

_MAX_BODY = 64 * 1024


class _Call:
    """A call handed to the engine's thread: run there, or given up by its caller
    before it started, never both, so a caller told "not in time" knows it did not run."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.answer: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = self._cancelled = False

    def begin(self) -> bool:
        """On the engine's thread: False if the caller gave up already."""
        with self._lock:
            self._started = not self._cancelled
            return self._started

    def cancel(self) -> bool:
        """On the caller's thread: False if it has started (its answer is on its way)."""
        with self._lock:
            self._cancelled = not self._started
            return self._cancelled


class _OnEngineThread(QObject):
    """Runs a callable on the thread this object lives in and hands back its result."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, call: _Call) -> None:
        if not call.begin():
            return
        try:
            call.answer.put((True, call.fn()))
        except Exception as exc:  # handed back to the HTTP thread, which reports it
            call.answer.put((False, exc))

    def invoke(self, fn: Callable[[], Any], timeout_s: float) -> Any:
        """``fn()`` run on this object's thread. Raises TimeoutError, and ``fn`` is
        never run, if that thread has not taken it up within ``timeout_s``."""
        call = _Call(fn)
        self.call.emit(call)
        try:
            ok, value = call.answer.get(timeout=timeout_s)
        except queue.Empty:
            if call.cancel():
                raise TimeoutError from None
            ok, value = call.answer.get()  # it started just now; fn is quick
        if not ok:
            raise value
        return value


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _bind_unix(path: Path, handler: type[BaseHTTPRequestHandler]) -> _UnixHTTPServer:
    """A server on a new socket file at ``path``, mode 0600. A socket file left by a
    console that died is replaced; one that answers is another console's (OSError)."""
    if path.is_symlink() or (path.exists() and not stat.S_ISSOCK(path.stat().st_mode)):
        raise OSError(errno.EEXIST, "exists and is not a socket: choose another path")
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            path.unlink()  # nobody listens: left behind by a console that died
        else:
            raise OSError(errno.EADDRINUSE, "in use by another console")
        finally:
            probe.close()
    server = _UnixHTTPServer(str(path), handler)
    # The token guards the socket anyway; the mode keeps other users from even asking.
    os.chmod(path, 0o600)
    return server


class ControlServer:
    """Serves the endpoint on 127.0.0.1:``port`` (0 picks a free port, None: no TCP)
    and on a Unix socket at ``socket_path`` (None: none) until ``stop()``.

    Makes the token file in the engine's data directory if it is missing; raises
    ControlTokenError if it cannot, OSError (``strerror`` naming the port or the
    socket) if the port or the socket cannot be had.
    """

    def __init__(
        self,
        engine: Engine,
        port: int | None = 0,
        socket_path: Path | None = None,
        *,
        answer_timeout_s: float = 5.0,
        idle_timeout_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._timeout_s = answer_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._bridge = _OnEngineThread()
        # The token is this account's credential: whoever holds it acts with its role.
        self.actor = Actor(
            "control port", engine.config.accounts.control_port_role, "the control port's token"
        )
        self.token_file = token_path(engine.data_dir)
        token = ensure_token(engine.data_dir)
        # Answers by request id: a request is registered when submitted, on the engine's
        # thread, before any outcome can arrive there.
        self._answers = threading.Condition()
        self._outcomes: dict[RequestId, object | None] = {}
        # The recipe's latest progress, for /status: None during a run without one.
        self._progress: RecipeProgress | None = None
        engine.run_changed.connect(self._note_outcome)
        engine.occurred.connect(self._note_outcome)
        self._board: AlarmBoard | None = None  # the latest, for GET /alarms
        engine.alarms_changed.connect(self._note_board)
        self._servers: list[socketserver.BaseServer] = []
        self.port: int | None = None
        self.socket_path = socket_path
        try:
            if port is not None:
                try:
                    http = ThreadingHTTPServer(
                        ("127.0.0.1", port), self._handler_class(Gate(token, self.token_file, port))
                    )
                except OSError as exc:
                    raise OSError(exc.errno, f"port {port}: {exc.strerror}") from exc
                http.daemon_threads = True
                self.port = http.server_address[1]
                # Port 0 is known only now: the gate must check the port really used.
                http.RequestHandlerClass = self._handler_class(
                    Gate(token, self.token_file, self.port)
                )
                self._servers.append(http)
            if socket_path is not None:
                gate = Gate(token, self.token_file, None)
                try:
                    self._servers.append(_bind_unix(socket_path, self._handler_class(gate)))
                except OSError as exc:
                    raise OSError(exc.errno, f"socket {socket_path}: {exc.strerror}") from exc
        except BaseException:
            self._close()
            raise
        self._threads = [
            threading.Thread(target=s.serve_forever, name="ald-control", daemon=True)
            for s in self._servers
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving, release the port and remove the socket file (also when never
        started)."""
        for server, thread in zip(self._servers, self._threads, strict=True):
            if thread.is_alive():
                server.shutdown()
                thread.join()
        self._close()

    def _close(self) -> None:
        for server in self._servers:
            server.server_close()
        if self.socket_path is not None and any(
            isinstance(s, _UnixHTTPServer) for s in self._servers
        ):
            self.socket_path.unlink(missing_ok=True)

    # -- answers ---------------------------------------------------------------------

    def _submit(self, command: Command) -> RequestId:
        """On the engine's thread: submit, and expect the outcome of that request."""
        request_id = self._engine.submit(command, by=self.actor)
        with self._answers:
            self._outcomes[request_id] = None
        return request_id

    @Slot(object)
    def _note_outcome(self, item: object) -> None:
        request_id = getattr(item, "request_id", None)
        with self._answers:
            if isinstance(item, RecipeProgress):
                self._progress = item
            elif isinstance(item, RunStarted):
                self._progress = None
            # The first outcome answers: a recipe's start (or abort) is answered by
            # RunStarted (RunEnded), not by the progress event carrying its id after it.
            if request_id in self._outcomes and self._outcomes[request_id] is None:
                self._outcomes[request_id] = item
                self._answers.notify_all()

    @Slot(object)
    def _note_board(self, board: AlarmBoard) -> None:
        with self._answers:
            self._board = board

    def _alarms(self) -> dict[str, Any]:
        with self._answers:
            board = self._board
        alarms = board.alarms if board else ()
        return {"alarms": [
            {"id": a.id, "name": a.definition.name, "state": a.state.value,
             "priority": a.definition.priority.word, "guidance": a.definition.guidance,
             "tag": a.definition.tag, "value": a.value, "bad_quality": a.bad_quality,
             "raised_at_us": a.raised_at_us, "since_us": a.since_us,
             "shelved_until_us": a.shelved_until_us, "reason": a.reason}
            for a in sorted(alarms, key=lambda a: -a.definition.priority)
        ]}  # fmt: skip

    def _outcome(self, request_id: RequestId) -> object | None:
        """The outcome of request ``request_id``, or None if none came in time."""
        with self._answers:
            self._answers.wait_for(lambda: self._outcomes[request_id] is not None, self._timeout_s)
            return self._outcomes.pop(request_id)

    def _ask(self, command: Command) -> tuple[HTTPStatus, dict[str, Any]]:
        """Carry out ``command`` and describe its outcome as an HTTP answer."""
        try:
            request_id = self._bridge.invoke(lambda: self._submit(command), self._timeout_s)
        except PermissionDenied as exc:
            return HTTPStatus.FORBIDDEN, {"ok": False, "error": str(exc)}
        except RunNotPossible as exc:
            return HTTPStatus.CONFLICT, {"ok": False, "error": str(exc)}
        except TimeoutError:
            return HTTPStatus.SERVICE_UNAVAILABLE, {
                "ok": False,
                "error": "the engine was too busy to take the request: nothing was done, try again",
            }
        outcome = self._outcome(request_id)
        answer: dict[str, Any] = {"request": request_id}
        if isinstance(outcome, RunRefused):  # the poll thread said no after all
            return HTTPStatus.CONFLICT, answer | {"ok": False, "error": outcome.reason}
        if isinstance(outcome, RunStarted):
            return HTTPStatus.OK, answer | {"ok": True, "run": _jsonable(outcome.run)}
        if isinstance(outcome, RunEnded):
            return HTTPStatus.OK, answer | {"ok": True, "run": None, "ended": _jsonable(outcome)}
        if isinstance(outcome, AlarmCommandRefused):
            return HTTPStatus.CONFLICT, answer | {"ok": False, "error": outcome.reason}
        if isinstance(outcome, AlarmCommandDone):
            return HTTPStatus.OK, answer | {"ok": True, "alarm": outcome.alarm}
        if isinstance(outcome, RecipeProgress):  # a pause or resume taken up
            return HTTPStatus.OK, answer | {"ok": True, "recipe": _jsonable(outcome)}
        return HTTPStatus.GATEWAY_TIMEOUT, answer | {
            "ok": False,
            "error": "asked, but not confirmed in time: see GET /status",
        }

    def _status(self) -> dict[str, Any]:
        engine = self._engine
        run = engine.run
        with self._answers:
            progress = self._progress
        return {
            "machine": engine.machine,
            "run": _jsonable(run) if run else None,
            "recipe": _jsonable(progress),
            "writer": _jsonable(engine.health_now()),
        }

    # -- HTTP --------------------------------------------------------------------------

    def _handler_class(self, gate: Gate) -> type[BaseHTTPRequestHandler]:
        control = self

        class Handler(BaseHTTPRequestHandler):
            # Each connection holds a thread: one that sends nothing (or sends slowly)
            # is closed after this long, so a local program cannot pile them up until
            # the console runs out of threads or file descriptors.
            timeout = control._idle_timeout_s

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the engine's event log records what matters

            def handle(self) -> None:
                # The client left before its answer (a killed curl, a flood): what was
                # carried out is in the event log and /status; a traceback on stderr
                # per dropped connection tells the operator nothing.
                with contextlib.suppress(ConnectionError):
                    super().handle()

            def _answer(self, status: HTTPStatus, body: dict[str, Any], **headers: str) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(data)

            def _refuse(self, refusal: Refusal) -> None:
                extra = {}
                if refusal.status is HTTPStatus.UNAUTHORIZED:
                    extra["WWW_Authenticate"] = 'Bearer realm="ald-gui run control"'
                self._answer(refusal.status, {"ok": False, "error": refusal.message}, **extra)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                length_header = self.headers.get("Content-Length") or "0"
                chunked = "Transfer-Encoding" in self.headers
                has_body = length_header.strip() not in ("", "0") or chunked
                refusal = gate.refusal(
                    self.headers, changes_state=method != "GET", has_body=has_body
                )
                # ASCII digits only: "²" is a digit to str.isdigit() and not to int().
                length_text = length_header.strip()
                whole = length_text.isascii() and length_text.isdigit()
                if refusal is None and (chunked or not whole):
                    refusal = Refusal(
                        HTTPStatus.LENGTH_REQUIRED,
                        "send a body with a Content-Length (a whole number), not chunked",
                    )
                if refusal is not None:
                    self._refuse(refusal)
                    return
                length = int(length_text)
                allowed = ROUTES.get(url.path)
                if allowed is None:
                    self._answer(HTTPStatus.NOT_FOUND, {"ok": False, "error": f"try {ROUTE_LIST}"})
                    return
                if method != allowed:
                    self._answer(
                        HTTPStatus.METHOD_NOT_ALLOWED,
                        {"ok": False, "error": f"{url.path} takes {allowed} only"},
                        Allow=allowed,
                    )
                    return
                if allowed == "GET":
                    read = control._status if url.path == "/status" else control._alarms
                    try:
                        status = control._bridge.invoke(read, control._timeout_s)
                    except TimeoutError:
                        self._answer(
                            HTTPStatus.SERVICE_UNAVAILABLE,
                            {"ok": False, "error": "the engine was too busy to answer: try again"},
                        )
                        return
                    self._answer(HTTPStatus.OK, status)
                    return
                params = self._parameters(url.query, length)
                if isinstance(params, Refusal):
                    self._refuse(params)
                    return
                command = command_for(url.path, params, control._engine.data_dir)
                if isinstance(command, Refusal):
                    self._refuse(command)
                    return
                self._answer(*control._ask(command))

            def _parameters(self, query: str, length: int) -> dict[str, str] | Refusal:
                """The query string's parameters, and the JSON body's over them."""
                params = {k: v[-1] for k, v in parse_qs(query).items()}
                if length == 0:
                    return params
                if length > _MAX_BODY:
                    return Refusal(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"a body of {length} bytes is too large: {_MAX_BODY} at most",
                    )
                try:
                    body = json.loads(self.rfile.read(length))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    return Refusal(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {exc}")
                if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
                    return Refusal(
                        HTTPStatus.BAD_REQUEST,
                        'the body must be a JSON object of text values, e.g. {"operator": "alice"}',
                    )
                return params | body

        return Handler
