"""A real console to attack: ``ald-gui headless --demo`` as a separate process, and what
an attacker on the same workstation has to reach it — raw bytes over TCP, the files
of its data directory, and the embedded server's addresses read from its
``postmaster.pid``. Nothing here calls into the console's code: the tests of
``test_attacks_*`` see it from outside.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg.conninfo import make_conninfo

from tests.ald_process import headless_demo, read_until_recording

WRITER, READER = "ald_console", "ald_console_reader"


class Target:
    """One running demo console on ``data_dir`` (under a directory the server account
    can pass: ``pg_tmp_path``), with ``extra`` arguments and ``env`` added to its
    environment; fails unless it starts recording, when ``must_start``. Use as a
    context manager: stopped (SIGTERM, then SIGKILL) and reaped on exit."""

    def __init__(
        self,
        data_dir: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        must_start: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.cluster = data_dir / "postgres"
        self._stderr = (data_dir.parent / f"stderr-{time.monotonic_ns()}.txt").open("w+")
        self._stack = ExitStack()
        self.process = self._stack.enter_context(
            headless_demo(
                data_dir, "--control-port", "0", "--quiet", *extra,
                stderr=self._stderr, env=None if env is None else os.environ | env,
            )
        )  # fmt: skip
        self.lines: list[str] = []
        read_until_recording(self.process, self.lines)
        self.port = 0
        for line in self.lines:
            if line.startswith("run control: http://127.0.0.1:"):
                self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        # The rest of its output is read on, so that it never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, name="target-stdout", daemon=True)
        self._reader.start()
        if must_start and not self.started:
            said = f"the console did not start: {self.lines} {self.stderr()}"
            self.__exit__(None, None, None)
            raise AssertionError(said)

    @property
    def started(self) -> bool:
        """Whether it came up (said "recording:"); if not, it has ended."""
        return any(line.startswith("recording:") for line in self.lines)

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # a clean stop, so that its server stops too
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()  # here, not by headless_demo: the reader owns stdout
                self.process.wait()
        self._stack.close()
        self._reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()

    def stderr(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text()

    # -- HTTP, as bytes on a socket ------------------------------------------------------

    @property
    def host(self) -> bytes:
        return f"127.0.0.1:{self.port}".encode()

    @property
    def token(self) -> str:
        return (self.data_dir / "control" / "token").read_text().strip()

    def send(self, data: bytes, timeout_s: float = 10.0) -> bytes:
        """Everything the console answers to ``data`` before it closes the connection
        (b"" if it closes without a word); fails if it neither answers nor closes in
        ``timeout_s``."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)  # nothing more comes: an answer or a close is due
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                pass  # closed with our bytes unread: what it said before counts
            return answer

    def ask(self, method: str, path: str, body: dict[str, str] | None = None) -> Any:
        """The JSON answer to a request as a deliberate client sends it; fails unless
        its status is 200."""
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Length: {len(data)}\r\n"
            + ("Content-Type: application/json\r\n" if body is not None else "")
            + "Connection: close\r\n\r\n"
        )
        status, _, answer = split_answer(self.send(head.encode() + data))
        assert status == 200, (status, answer)
        return json.loads(answer)

    # -- the embedded server, as its files say -------------------------------------------

    def postmaster(self) -> tuple[int, str]:
        """(TCP port, Unix socket directory) from the cluster's postmaster.pid."""
        lines = (self.cluster / "postmaster.pid").read_text().splitlines()
        return int(lines[3]), lines[4]

    def login(self, user: str, password: str | None = None) -> str:
        """Conninfo over TCP as ``user``, with the password in its file unless given."""
        if password is None:
            password = (self.cluster / f"ald_gui_{user}_password").read_text().strip()
        port, _ = self.postmaster()
        return make_conninfo(
            host="127.0.0.1", port=port, user=user, password=password, dbname="postgres",
            connect_timeout=10,
        )  # fmt: skip

    def count(self, table: str) -> int:
        with psycopg.connect(self.login(READER)) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            return int(row[0])


def split_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of a raw HTTP answer; status 0
    if there is none."""
    if not raw:
        return 0, {}, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body
