"""Another local user against a real running console (under root, as a throwaway
account made for the test): it reads none of the console's files — token, spool, clock
mark, console id, the embedded server's password files, settings and log — lists
neither the data directory nor the server's socket directory, logs in to the embedded
server with no credential it can find or guess, reaches neither Unix socket, and the
run control answers it 401. A program of its own listening on the console's port gets
no token from ``ald-gui run``."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attack_target import READER, WRITER, Target
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root makes another user")

PSQL = Path("/usr/lib/postgresql/15/bin/psql")

# Run as the other user by the system's Python: the test's virtualenv may be private.
_ATTEMPTS = r"""
import json, os, socket, subprocess, sys, urllib.request, urllib.error
plan = json.loads(sys.argv[1])
out = {}
for path in plan["files"]:
    try:
        with open(path, "rb") as f:
            out["read " + path] = "read %d bytes" % len(f.read())
    except OSError as exc:
        out["read " + path] = type(exc).__name__
for path in plan["dirs"]:
    try:
        out["list " + path] = "listed %d names" % len(os.listdir(path))
    except OSError as exc:
        out["list " + path] = type(exc).__name__
for path in plan["sockets"]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        out["connect " + path] = "connected"
    except OSError as exc:
        out["connect " + path] = type(exc).__name__
    finally:
        s.close()
for user in plan["pg_users"]:
    for password in ["", "postgres", user, "ald", "password"]:
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
        done = subprocess.run(
            [plan["psql"], "-h", "127.0.0.1", "-p", str(plan["pg_port"]), "-U", user,
             "-d", "postgres", "-w", "-Atc", "SELECT 1"],
            capture_output=True, text=True, env=env, cwd="/",
        )
        key = "log in as %s with %r" % (user, password)
        said = done.stderr.strip()
        if done.returncode == 0:
            out[key] = "logged in"
        elif "password authentication failed" in said or "no password supplied" in said:
            out[key] = "refused"  # by the server, for the password: not a failure of psql
        else:
            out[key] = said
try:
    req = urllib.request.Request(plan["status"])
    out["GET /status"] = urllib.request.urlopen(req, timeout=10).status
except urllib.error.HTTPError as exc:
    out["GET /status"] = exc.code
print(json.dumps(out))
"""


@pytest.fixture
def stranger() -> Iterator[str]:
    name = f"ald-atk-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.mark.skipif(not PSQL.exists(), reason="Debian's psql is the attacker's client")
def test_another_local_user_reads_nothing_and_logs_in_nowhere(
    pg_tmp_path: Path, stranger: str
) -> None:
    control_socket = pg_tmp_path / "control.sock"
    with Target(pg_tmp_path / "ald-gui", "--control-socket", str(control_socket)) as target:
        pg_port, pg_socket_dir = target.postmaster()
        clock_mark = target.data_dir / "stream-clock.json"
        wait_until(clock_mark.exists, 20, "the stream clock's mark")  # written once it ticks
        files = sorted(str(p) for p in target.data_dir.rglob("*") if p.is_file())
        # What an attacker wants most is there to be read (by root, who looks first).
        names = {Path(f).name for f in files}
        assert {"token", "spool.sqlite3", "spool.sqlite3-wal", "stream-clock.json",
                "console-id", f"ald_gui_{WRITER}_password", f"ald_gui_{READER}_password",
                "ald_gui_tcp_password", "server.log", "ald_gui.conf"} <= names  # fmt: skip
        sockets = [str(control_socket), f"{pg_socket_dir}/.s.PGSQL.{pg_port}"]
        plan = {
            "files": files,
            "dirs": [str(target.data_dir), pg_socket_dir, "/var/lib/ald-postgres"],
            "sockets": sockets,
            "pg_users": ["postgres", WRITER, READER, "ald_owner", "ald_writer", stranger],
            "pg_port": pg_port,
            "psql": str(PSQL),
            "status": f"http://127.0.0.1:{target.port}/status",
        }
        done = subprocess.run(
            ["runuser", "-u", stranger, "--", "/usr/bin/python3", "-c", _ATTEMPTS,
             json.dumps(plan)],
            capture_output=True, text=True, timeout=100, cwd="/",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outcomes = json.loads(done.stdout)
    assert outcomes.pop("GET /status") == 401
    denied = {"PermissionError", "refused"}
    got_through = {what: how for what, how in outcomes.items() if how not in denied}
    assert got_through == {}
    # Every attempt was made (and answered as it should).
    assert {f"read {f}" for f in files} | {f"connect {p}" for p in sockets} <= set(outcomes)
    assert sum(what.startswith("log in as ") for what in outcomes) == 6 * 5 - 1  # postgres twice


_SQUATTER = r"""
import socket, sys
with socket.create_server(("127.0.0.1", 0)) as server:
    print(server.getsockname()[1], flush=True)
    server.settimeout(60)
    conn, _ = server.accept()
    with conn:
        conn.settimeout(10)
        said = b""
        while b"\r\n\r\n" not in said:
            chunk = conn.recv(65536)
            if not chunk:
                break
            said += chunk
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}")
print(said.decode("latin-1"), flush=True)
"""


def test_ald_gui_run_gives_no_token_to_another_users_program_on_the_port(
    tmp_path: Path, stranger: str
) -> None:
    control = tmp_path / "ald-gui" / "control"
    control.mkdir(parents=True, mode=0o700)
    token = "t" * 43
    (control / "token").write_text(token + "\n")
    (control / "token").chmod(0o600)
    with subprocess.Popen(
        ["runuser", "-u", stranger, "--", "/usr/bin/python3", "-c", _SQUATTER],
        stdout=subprocess.PIPE, text=True, cwd="/",
    ) as squatter:  # fmt: skip
        assert squatter.stdout is not None
        port = squatter.stdout.readline().strip()
        asked = subprocess.run(
            [sys.executable, "-m", "ald_gui", "run", "status", "--port", port,
             "--data-dir", str(tmp_path / "ald-gui")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        # It waits for a connection: one that says nothing ends it.
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as nothing:
            nothing.sendall(b"\r\n\r\n")
        collected, _ = squatter.communicate(timeout=60)
    assert token not in collected
    assert asked.returncode == 1
    uid = pwd.getpwnam(stranger).pw_uid
    assert f"127.0.0.1:{port} is held by another user (uid {uid})" in asked.stderr
    assert "the token was not sent" in asked.stderr
