"""A small HTTP control endpoint for the headless service, on the loopback interface.

Automation starts and stops runs the way it talks to most services: plain HTTP with
JSON answers, from curl, a MES script or ``ald-gui run start``.

    GET  /status                          engine, run and health figures
    POST /runs/start?operator=NAME&note=  start a run (409 if not possible)
    POST /runs/stop?reason=               stop the active run (409 if none)

Requests are handled on the server's thread and carried out on the engine's thread
(a queued signal), so the engine is only ever touched from one thread.
"""

from __future__ import annotations

import json
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ald_gui.domain.events import RunRefused
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.stream import RunEnded, RunStarted
from ald_gui.engine.engine import Engine

_ANSWER_TIMEOUT_S = 5.0


class _OnEngineThread(QObject):
    """Runs a callable on the thread this object lives in and hands back its result."""

    call = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object)
    def _run(self, fn: Callable[[], Any], answer: queue.SimpleQueue[Any]) -> None:
        try:
            answer.put((True, fn()))
        except Exception as exc:  # handed back to the HTTP thread, which reports it
            answer.put((False, exc))

    def invoke(self, fn: Callable[[], Any]) -> Any:
        answer: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.call.emit(fn, answer)
        ok, value = answer.get(timeout=_ANSWER_TIMEOUT_S)
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


class ControlServer:
    """Serves the endpoint on 127.0.0.1:``port`` (0 picks a free port) until ``stop()``."""

    def __init__(self, engine: Engine, port: int = 0) -> None:
        self._engine = engine
        self._bridge = _OnEngineThread()
        # The start request returns once the run has really started (or was refused),
        # so the caller gets the run id.
        self._changes = threading.Condition()
        self._change_count = 0
        self._recent: deque[tuple[int, object]] = deque(maxlen=64)
        engine.run_changed.connect(self._note_change)
        engine.occurred.connect(self._note_change)
        handler = self._handler_class()
        self._http = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._http.daemon_threads = True
        self.port: int = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="ald-control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (also when never started)."""
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()

    @Slot(object)
    def _note_change(self, item: object) -> None:
        if not isinstance(item, RunStarted | RunEnded | RunRefused):
            return
        with self._changes:
            self._change_count += 1
            self._recent.append((self._change_count, item))
            self._changes.notify_all()

    def _outcome(self, seen: int, kinds: tuple[type, ...]) -> object | None:
        """The first change after ``seen`` of one of ``kinds`` (the answer to this
        request), or None if none came in time."""

        def found() -> object | None:
            return next((i for n, i in self._recent if n > seen and isinstance(i, kinds)), None)

        with self._changes:
            self._changes.wait_for(lambda: found() is not None, _ANSWER_TIMEOUT_S)
            return found()

    def _status(self) -> dict[str, Any]:
        engine = self._engine
        run = engine.run
        return {
            "machine": engine.machine,
            "run": _jsonable(run) if run else None,
            "writer": _jsonable(engine.health_now()),
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        control = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the engine's event log records what matters

            def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if urlparse(self.path).path != "/status":
                    self._answer(HTTPStatus.NOT_FOUND, {"error": "try GET /status"})
                    return
                self._answer(HTTPStatus.OK, control._bridge.invoke(control._status))

            def do_POST(self) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                engine = control._engine
                with control._changes:
                    seen = control._change_count
                try:
                    if url.path == "/runs/start":
                        control._bridge.invoke(
                            lambda: engine.start_run(
                                query.get("operator", ""), query.get("note", "")
                            )
                        )
                    elif url.path == "/runs/stop":
                        control._bridge.invoke(lambda: engine.stop_run(query.get("reason", "")))
                    else:
                        self._answer(
                            HTTPStatus.NOT_FOUND, {"error": "try POST /runs/start or /runs/stop"}
                        )
                        return
                except RunNotPossible as exc:
                    self._answer(HTTPStatus.CONFLICT, {"ok": False, "error": str(exc)})
                    return
                except queue.Empty:
                    self._answer(
                        HTTPStatus.SERVICE_UNAVAILABLE,
                        {"ok": False, "error": "the engine did not answer in time"},
                    )
                    return
                expected = RunStarted if url.path == "/runs/start" else RunEnded
                outcome = control._outcome(seen, (expected, RunRefused))
                if isinstance(outcome, RunRefused):  # the poll thread said no after all
                    self._answer(HTTPStatus.CONFLICT, {"ok": False, "error": outcome.reason})
                elif outcome is None:
                    self._answer(
                        HTTPStatus.GATEWAY_TIMEOUT,
                        {"ok": False, "error": "asked, but not confirmed in time: see GET /status"},
                    )
                elif isinstance(outcome, RunStarted):
                    self._answer(HTTPStatus.OK, {"ok": True, "run": _jsonable(outcome.run)})
                else:
                    self._answer(
                        HTTPStatus.OK, {"ok": True, "run": None, "ended": _jsonable(outcome)}
                    )

        return Handler
