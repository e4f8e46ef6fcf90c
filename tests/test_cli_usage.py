"""The command line as a new user tries it: options in either place, clean errors."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from ald_gui.cli import build_parser
from ald_gui.cli.display import XCB_LIBRARIES
from ald_gui.cli.headless_cmd import DEFAULT_CONTROL_PORT
from ald_gui.config.load import default_config_path
from tests.fixtures.plc import free_port


def _ald(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ald_gui", *args],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _config(path: Path, **changes: Any) -> Path:
    with default_config_path().open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    data.update(changes)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text('schema_version = 1\n[plc]\nport = "five"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_honoured_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    with default_config_path().open("rb") as f:
        tags = tomllib.load(f)["tags"]
    small = _config(tmp_path / "small.toml", tags=tags[:3], process={}, alarms=[], overview={})
    args = ["--config", str(small)]
    done = _ald(*args, "config", "check") if where == "before" else _ald("config", "check", *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 3 tags"), done.stdout


@pytest.mark.parametrize("command", [["config", "check"], ["doctor"], []])
def test_a_broken_config_before_the_subcommand_is_refused_by_name(
    broken: Path, tmp_path: Path, command: list[str]
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # [] is the window
    data = ["--data-dir", str(tmp_path)] if command != ["config", "check"] else []
    done = _ald("--config", str(broken), *data, *command, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{broken}: invalid configuration" in done.stderr
    assert "plc.port" in done.stderr and "Traceback" not in done.stderr
    assert "ok:" not in done.stdout


def test_an_option_the_subcommand_has_no_use_for_is_refused() -> None:
    done = _ald("--demo", "plc", "read")
    assert done.returncode == 2
    assert "--demo does not apply to `plc read`" in done.stderr


@pytest.mark.parametrize("action", ["status", "upgrade"])
def test_db_commands_say_the_database_is_unreachable_without_a_traceback(
    tmp_path: Path, action: str
) -> None:
    dsn = f"host=127.0.0.1 port={free_port()} dbname=ald user=ald connect_timeout=5"
    # No password needed: nothing listens there (a missing one would be refused first).
    config = _config(tmp_path / "far.toml", database={"dsn": dsn, "password_env": ""})
    done = _ald("db", action, "--config", str(config))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: cannot reach the database" in done.stderr
    assert "Connection refused" in done.stderr and "Traceback" not in done.stderr


def test_missing_x11_libraries_are_named_with_their_packages_before_qt_aborts(
    tmp_path: Path,
) -> None:
    def loadable(library: str) -> bool:
        try:
            ctypes.CDLL(library)
        except OSError:
            return False
        return True

    missing = [package for lib, package in XCB_LIBRARIES.items() if not loadable(lib)]
    if not missing:
        pytest.skip("every library of Qt's xcb plugin is installed here")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    # No X server needs to run: Qt aborts while loading its plugin, before connecting.
    env["DISPLAY"] = ":99"
    done = _ald("--data-dir", str(tmp_path), env=env)
    assert done.returncode == 2, done.stderr  # Qt's own abort is 134 (SIGABRT)
    assert f"sudo apt-get install {' '.join(missing)}" in done.stderr


def test_the_no_display_fallback_suggests_a_command_that_exists(tmp_path: Path) -> None:
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", DEFAULT_CONTROL_PORT))
        holder.listen()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    try:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
        done = _ald("--demo", "--data-dir", str(tmp_path), env=env)
    finally:
        holder.close()
    assert done.returncode == 2, done.stdout + done.stderr
    suggestion = "`ald-gui headless --control-port 0`"
    assert suggestion in done.stderr, done.stderr
    # What it suggests parses, with the --demo the user gave.
    args = build_parser().parse_args(["--demo", "headless", "--control-port", "0"])
    assert args.control_port == 0


def test_an_outage_does_not_flood_stderr_with_the_pools_warnings(tmp_path: Path) -> None:
    dsn = f"host=127.0.0.1 port={free_port()} dbname=ald user=ald connect_timeout=5"
    # No password needed: nothing listens there (a missing one would be refused first).
    config = _config(tmp_path / "far.toml", database={"dsn": dsn, "password_env": ""})
    done = _ald("headless", "--config", str(config), "--data-dir", str(tmp_path / "data"),
                "--control-port", "-1", "--quiet", "--duration", "4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    pool_lines = [line for line in done.stderr.splitlines() if "psycopg.pool" in line]
    # About two a second unfiltered: eight or more in four seconds.
    assert 1 <= len(pool_lines) <= 2, done.stderr
    assert "Database lost" in done.stdout  # the event log says it, once
