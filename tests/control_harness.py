"""An engine with its run control, in process, and a client for it, for the tests."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from ald_gui.cli.run_cmd import UnixHTTPConnection
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Role
from ald_gui.engine.control import ControlServer
from ald_gui.engine.engine import Engine
from tests.acting import TESTER
from tests.recording import Recording


@dataclass
class Answer:
    """An HTTP answer: status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: http.client.HTTPMessage


@dataclass
class Control:
    """The engine, its control server, what the engine emitted, and the token."""

    engine: Engine
    server: ControlServer
    recording: Recording
    token: str
    data_dir: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def connection(self) -> http.client.HTTPConnection:
        if self.server.port is None:
            assert self.server.socket_path is not None
            return UnixHTTPConnection(self.server.socket_path, timeout=10)
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)

    def fetch(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "own",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        """One request, from any thread. ``token="own"``: the console's token."""
        sent = {"Host": self.host} if self.server.port is not None else {}
        if token is not None:
            sent["Authorization"] = f"Bearer {self.token if token == 'own' else token}"
        sent |= headers or {}
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return Answer(response.status, json.loads(response.read()), response.headers)
        finally:
            conn.close()

    def call(self, qtbot: QtBot, method: str, path: str, **kw: Any) -> Answer:
        """``fetch`` on a thread while this one spins Qt's loop: the engine answers
        through queued signals, as it does in the service."""
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(self.fetch, method, path, **kw)
            qtbot.waitUntil(future.done, timeout=15000)
            return future.result()


def open_control(
    config: AppConfig, dsn: str, data_dir: Path, port_role: Role = TESTER.role, **server: Any
) -> tuple[Engine, Recording, ControlServer]:
    """An open engine recording into ``dsn`` and its started ControlServer (``server``:
    its keyword arguments), whose service account has ``port_role`` (default: one that
    may every command, for tests not about permissions); the caller stops both."""
    accounts = config.accounts.model_copy(update={"control_port_role": port_role})
    engine = Engine(config.model_copy(update={"accounts": accounts}), data_dir=data_dir, dsn=dsn)
    engine.act_as(TESTER)
    recording = Recording.of(engine)
    engine.open()
    try:
        control = ControlServer(engine, **server)
    except BaseException:
        engine.shutdown()
        raise
    control.start()
    return engine, recording, control
