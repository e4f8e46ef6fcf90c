"""Headless consoles in processes of their own, as a fab runs them: ``ald-gui headless
--demo`` (the engine and the reference reactor's simulator in one process), each with its
own data directory, configuration, machine name and database login, driven over its
HTTP run control. ``Fleet`` stops every console it started on exit, also on Ctrl+C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import tomli_w
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.config.load import default_config_path
from ald_gui.engine.control_access import read_token

PASSWORD_ENV = "ALD_GUI_DB_PASSWORD"
READER_PASSWORD_ENV = "ALD_GUI_DB_READER_PASSWORD"
_CONTROL = re.compile(r"run control: (http://127\.0\.0\.1:\d+)/status")


def tool_config(path: Path, dsn: str, machine: str, reader: str, interval_s: float) -> Path:
    """The reference reactor polled every ``interval_s``, recording as ``machine`` into
    ``dsn`` (its password left out: it comes from ``PASSWORD_ENV``), doctor as ``reader``."""
    with default_config_path().open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    data["process"].pop("interlocks", None)  # nothing is written: no permissives needed
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if k != "password"}
    data["poll"] = {"interval_s": interval_s}
    data["database"] = {"dsn": make_conninfo("", **parts), "machine": machine,
                        "reader_user": reader}  # fmt: skip
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


class Console:
    """One ``ald-gui headless --demo`` process; its output goes to files in its data
    directory's parent."""

    def __init__(self, machine: str, config: Path, data_dir: Path, password: str) -> None:
        self.machine, self.config, self.data_dir = machine, config, data_dir
        self.stdout_file = data_dir.parent / f"{machine}.out"
        self.stderr_file = data_dir.parent / f"{machine}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALD_GUI_DB"))}
        env[PASSWORD_ENV] = password
        with self.stdout_file.open("w") as out, self.stderr_file.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ald_gui", "headless", "--demo", "--config", str(config),
                 "--data-dir", str(data_dir), "--control-port", "0", "--quiet"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                start_new_session=True,  # a Ctrl+C at the terminal reaches the benchmark only
            )  # fmt: skip
        self.url = ""
        self._terminated = False

    def terminate(self) -> None:
        """SIGTERM, once: a second one during its shutdown would end it uncleanly."""
        if not self._terminated and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self._terminated = True

    def wait_ready(self, deadline: float) -> None:
        """Until its run control answers; SystemExit naming it if it ends or is late."""
        while not self.url:
            if match := _CONTROL.search(self.stdout_file.read_text(errors="replace")):
                self.url = match.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"console {self.machine} did not start: {self.output()}")
            else:
                time.sleep(0.2)

    def output(self) -> str:
        return (
            self.stdout_file.read_text(errors="replace")[-2000:]
            + self.stderr_file.read_text(errors="replace")[-2000:]
        )

    def request(self, method: str, path: str) -> dict[str, Any]:
        req = urllib.request.Request(
            self.url + path,
            method=method,
            headers={"Authorization": f"Bearer {read_token(self.data_dir)}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                body: dict[str, Any] = json.load(answer)
        except urllib.error.HTTPError as refused:
            with refused:
                raise SystemExit(f"{self.machine}: {method} {path}: {json.load(refused)}") from None
        return body

    def writer(self) -> dict[str, Any]:
        """The writer's health (``/status``'s ``writer``)."""
        status: dict[str, Any] = self.request("GET", "/status")["writer"]
        return status

    def spool_bytes(self) -> int:
        """The spool's size on disk: the SQLite file and its write-ahead log."""
        files = [self.data_dir / "spool.sqlite3", self.data_dir / "spool.sqlite3-wal"]
        return sum(f.stat().st_size for f in files if f.exists())

    def stop(self, timeout_s: float) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit status of a clean stop, None
        if it had to be killed."""
        self.terminate()
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far, from /proc (0 for one that ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


class Fleet:
    """The consoles started; every one still running is stopped at exit."""

    def __init__(self) -> None:
        self.consoles: list[Console] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for c in self.consoles:
            c.terminate()
        for c in self.consoles:
            c.stop(60)
