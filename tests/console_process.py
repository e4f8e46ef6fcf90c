"""``ald-gui headless`` as a separate process, driven the way automation drives it.

``Console`` starts ``python -m ald_gui headless`` on a configuration written by
``write_config`` (the reference reactor, pointed at a simulator and a database of the
test's choosing), reads its output on a thread of its own (which ends when the process
does), and talks to its HTTP run control.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import tomli_w

from ald_gui.config.load import default_config_path
from ald_gui.engine.control_access import read_token

_CONTROL_LINE = re.compile(r"run control: (http://127\.0\.0\.1:\d+)/status")


def write_config(
    path: Path,
    *,
    plc_port: int,
    dsn: str,
    interval_s: float = 0.02,
    lease_timeout_s: float = 30.0,
    permissives: bool = False,
) -> Path:
    """The bundled configuration with the PLC at 127.0.0.1:``plc_port``, polled every
    ``interval_s``, recording into ``dsn`` (which must hold no password) as machine
    ``ald-1`` under a lease of ``lease_timeout_s``; without its permissives unless
    ``permissives`` (the simulator starts at atmosphere, where they refuse every
    precursor valve)."""
    with default_config_path().open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    if not permissives:
        data["process"].pop("interlocks")
    data["plc"].update(host="127.0.0.1", port=plc_port)
    data["poll"] = {"interval_s": interval_s}
    data["database"] = {"dsn": dsn, "machine": "ald-1", "lease_timeout_s": lease_timeout_s}
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


class Console:
    """One headless process. Use as a context manager: it is killed and reaped on exit
    if still running, and its reader thread joined."""

    def __init__(self, config: Path, data_dir: Path, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self._data_dir = data_dir
        self._stderr = (log_dir / f"stderr-{time.monotonic_ns()}.txt").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ald_gui", "headless", "--config", str(config),
             "--data-dir", str(data_dir), "--control-port", "0", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="console-stdout", daemon=True)
        self._reader.start()
        self.url = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()

    # -- output ------------------------------------------------------------------------

    def wait_for_line(
        self, pattern: str | re.Pattern[str], timeout_s: float = 30.0
    ) -> re.Match[str]:
        """The first output line matching ``pattern``; fails (quoting the output) if the
        process ends or ``timeout_s`` passes first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    raise AssertionError(
                        f"no line matching {regex.pattern!r} "
                        f"({'process ended' if self._eof else 'timed out'});\n"
                        f"stdout: {self.lines}\nstderr: {self.stderr()}"
                    )
                self._changed.wait(left)

    def ready(self) -> Self:
        """Wait until run control answers; returns self."""
        self.url = self.wait_for_line(_CONTROL_LINE).group(1)
        return self

    def stderr(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text()

    # -- run control -------------------------------------------------------------------

    def request(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of a request to the run control."""
        token = read_token(self._data_dir)
        req = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, json.load(refused)

    def start_run(self, operator: str, note: str = "") -> str:
        """The id of the run started; fails unless the console started it."""
        query = urllib.parse.urlencode({"operator": operator, "note": note})
        status, body = self.request("POST", f"/runs/start?{query}")
        assert status == 200 and body["ok"] and body["run"], body
        return str(body["run"]["id"])

    def spool_depth(self) -> int:
        status, body = self.request("GET", "/status")
        assert status == 200, body
        return int(body["writer"]["spool_depth"])

    # -- ending --------------------------------------------------------------------------

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then the exit status once the process has ended."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def finished(self, timeout_s: float = 30.0) -> int:
        return self.process.wait(timeout=timeout_s)
