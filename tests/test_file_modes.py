"""Who may read the console's files: the data directory 0700, its files 0600, and under
root the embedded server's account reaches them without anything above being opened up."""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from ald_gui.config import paths
from ald_gui.domain.stream import Batch
from ald_gui.store import server_files, server_programs
from ald_gui.store.server import EmbeddedServer, ServerError
from ald_gui.store.spool import Spool
from tests.ald_process import headless_demo, read_until_recording

AS_ROOT = os.geteuid() == 0
T0 = 1_767_225_600_000_000


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The umask of a desktop session: what the code does not set, comes out 0644/0755."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _ancestry(*paths_: Path) -> dict[Path, tuple[int, int, int]]:
    """Mode, owner and group of every directory above (and including) each path."""
    found = {}
    for p in paths_:
        for d in (p, *p.parents):
            st = d.stat()
            found[d] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return found


def _modes_under(directory: Path) -> dict[Path, int]:
    found = {}
    for p in directory.rglob("*"):
        try:
            st = p.lstat()
        except FileNotFoundError:  # a temporary file renamed meanwhile: its target counts
            continue
        if not stat.S_ISLNK(st.st_mode):
            found[p] = stat.S_IMODE(st.st_mode)
    return found


def test_data_directory_spool_and_its_wal_are_for_the_user_alone(tmp_path: Path) -> None:
    data = paths.data_dir(tmp_path / "home" / "ald-gui")
    assert _mode(data) == 0o700
    with Spool(paths.spool_path(data)) as spool:
        spool.append([Batch(1, T0, {"chamber_heater.temperature_read": 20.0})])
        files = sorted(p.name for p in data.iterdir())
        assert "spool.sqlite3-wal" in files, files  # looked at while it exists
        for name in files:
            assert _mode(data / name) == 0o600, name


def test_data_directory_of_an_older_release_is_closed_and_a_foreign_one_left_alone(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    paths.spool_path(old).write_bytes(b"")
    paths.spool_path(old).chmod(0o644)
    assert _mode(paths.data_dir(old)) == 0o700
    with Spool(paths.spool_path(old)):
        assert _mode(paths.spool_path(old)) == 0o600

    foreign = tmp_path / "projects"
    foreign.mkdir(mode=0o755)
    (foreign / "notes.txt").write_text("not ours")
    assert _mode(paths.data_dir(foreign)) == 0o755


def test_embedded_server_files_are_private_and_nothing_above_changes(pg_tmp_path: Path) -> None:
    data = paths.data_dir(pg_tmp_path / "ald-gui")
    cluster = paths.database_dir(data)
    bin_dir = server_programs.bin_dir()
    before = _ancestry(pg_tmp_path, bin_dir)
    with EmbeddedServer(cluster) as running:
        socket_dir = Path(str(conninfo_to_dict(running.dsn)["host"]))
        assert _mode(socket_dir) == 0o700
        for f in [data / "postgres.lock", *cluster.glob("*")]:
            if f.is_file():
                assert _mode(f) & 0o077 == 0, f"{f} is {_mode(f):04o}"
        assert _mode(cluster) == 0o700
        assert _mode(cluster / "ald_gui_tcp_password") == 0o600
        assert _mode(cluster / "server.log") == 0o600
        if AS_ROOT:
            account = pwd.getpwnam(server_files.SERVER_ACCOUNT)
            assert cluster.stat().st_uid == account.pw_uid
            # The account passes through the data directory; it cannot list it.
            assert _mode(data) == 0o710
            assert data.stat().st_gid == account.pw_gid
        else:
            assert _mode(data) == 0o700
    assert _ancestry(pg_tmp_path, bin_dir) == before


@pytest.mark.skipif(not AS_ROOT, reason="the server account exists only under root")
def test_under_root_a_closed_directory_above_is_named_not_opened(pg_tmp_path: Path) -> None:
    home = pg_tmp_path / "root-home"
    home.mkdir(mode=0o700)
    cluster = paths.database_dir(paths.data_dir(home / ".local" / "share" / "ald-gui"))
    before = _ancestry(cluster.parent)
    with pytest.raises(ServerError, match=f"{home} \\(mode 0700, owner uid 0\\) does not let"):
        EmbeddedServer(cluster).start()
    assert _ancestry(cluster.parent) == before


@pytest.mark.skipif(not AS_ROOT, reason="the server account exists only under root")
def test_under_root_the_programs_copy_is_made_once_and_said(
    pg_tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    programs = pg_tmp_path / "programs"
    monkeypatch.setattr(server_files, "PROGRAMS_ROOT", programs)
    caplog.set_level(logging.WARNING, logger=server_files.__name__)
    with EmbeddedServer(pg_tmp_path / "data"):
        pass
    made = [r.getMessage() for r in caplog.records if r.getMessage().startswith("made ")]
    assert len(made) == 1 and str(programs) in made[0]
    account = pwd.getpwnam(server_files.SERVER_ACCOUNT)
    st = programs.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o750, 0, account.pw_gid)
    (copy,) = programs.iterdir()
    wheel_postgres = server_programs.bin_dir() / "postgres"
    (copied_postgres,) = copy.rglob("bin/postgres")
    assert copied_postgres.samefile(wheel_postgres)  # a hard link: no space, same mode
    caplog.clear()
    with EmbeddedServer(pg_tmp_path / "data"):
        pass
    assert not [r for r in caplog.records if r.getMessage().startswith("made ")]


@pytest.mark.skipif(not AS_ROOT, reason="only root creates accounts")
def test_under_root_the_server_account_is_created_once_and_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"ald-t{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(server_files, "SERVER_ACCOUNT", name)
    caplog.set_level(logging.WARNING, logger=server_files.__name__)
    try:
        account = server_files.server_account()
        entry = pwd.getpwnam(name)
        assert account == (entry.pw_uid, entry.pw_gid)
        assert entry.pw_shell == "/usr/sbin/nologin"
        assert [r.getMessage() for r in caplog.records] == [
            f"created the system account {name} (uid {entry.pw_uid}, gid {entry.pw_gid}, no "
            "login, no home) to run the embedded PostgreSQL server, which refuses to run as root"
        ]
        caplog.clear()
        assert server_files.server_account() == account
        assert not caplog.records
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def test_a_headless_demo_leaves_nothing_that_another_user_could_read(pg_tmp_path: Path) -> None:
    """As a user runs it: every file the console, its spool, its run control and its
    embedded server made is the user's (or the server account's) alone, and nothing
    above the data directory changed."""
    data = pg_tmp_path / "ald-gui"
    before = _ancestry(pg_tmp_path, server_programs.bin_dir())
    with headless_demo(data, "--control-port", "0", stderr=subprocess.PIPE) as demo:
        read_until_recording(demo)
        modes = _modes_under(data)  # while it runs: the spool's WAL, the locks
        demo.terminate()
        _, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err
    assert _mode(data) == (0o710 if AS_ROOT else 0o700)
    assert paths.spool_path(data) in modes and (data / "control" / "token") in modes
    wide = {str(p): f"{m:04o}" for p, m in modes.items() if m & 0o077}
    assert not wide, f"readable or enterable by others: {wide}"
    assert _ancestry(pg_tmp_path, server_programs.bin_dir()) == before


@pytest.mark.skipif(not AS_ROOT, reason="root's own default data directory")
def test_under_root_the_default_data_directory_is_one_the_server_account_can_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The quick start under root (a container, CI) needs no --data-dir: the default is
    not under /root (0700, and left so) but where a system service keeps its state."""
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    default = paths.default_data_dir()
    assert default == Path("/var/lib/ald-gui")
    closed = [str(p) for p in default.parents if p.exists() and not _mode(p) & 0o001]
    assert not closed, f"the server account could not pass through {closed}"
