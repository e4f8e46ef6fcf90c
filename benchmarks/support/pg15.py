"""A throwaway cluster of Debian's PostgreSQL 15, the server a fab's DBA runs, that a
benchmark may stop and start again (an outage) and whose processes' CPU it can read.

Unlike the tests' cluster it keeps fsync on (a central server's commits are durable)
and records commit timestamps (``track_commit_timestamp``), so a benchmark can tell when
each console's transaction really committed. TCP on a free loopback port only,
scram-sha-256. Under root it runs as ``nobody`` (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from psycopg.conninfo import make_conninfo

from support.simulator import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"


class Pg15Cluster:
    """initdb on a temporary directory at entry; ``stop()``/``start()`` as often as
    wanted; the server stopped (immediately, if need be) and the directory removed at
    exit, whatever happened."""

    def __init__(self, max_connections: int = 100) -> None:
        if not (BIN / "initdb").exists():
            raise SystemExit(f"Debian's PostgreSQL 15 is not installed ({BIN})")
        self.root = Path(tempfile.mkdtemp(prefix="ald-bench-pg15-"))
        self.data_dir = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self._max_connections = max_connections
        self._account: tuple[int, int] | None = None
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam("nobody")
            self._account = (entry.pw_uid, entry.pw_gid)
            os.chown(self.root, *self._account)
        self.root.chmod(0o700)

    def dsn(
        self, user: str = SUPERUSER, password: str | None = None, dbname: str = "postgres"
    ) -> str:
        return make_conninfo(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=self.password if password is None else password,
            dbname=dbname,
        )

    def initdb(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password)
        if self._account is not None:
            os.chown(pwfile, *self._account)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories='' -c lc_messages=C "
            f"-c max_connections={self._max_connections} -c track_commit_timestamp=on "
            "-c shared_buffers=256MB -c max_wal_size=4GB"
        )
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-w", "-t", "120",
                  "-l", str(self.root / "server.log"), "-o", options)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs (``fast``: sessions are cut, as in an outage)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-w", "-t", "120", "-m", mode)

    @property
    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cpu_seconds(self) -> float:
        """User + system CPU of the postmaster and its children (the backends and the
        background workers) so far, from /proc; backends that ended are not counted."""
        root = self.postmaster_pid
        if root is None:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            pid, ppid = int(entry.name), int(fields[1])
            if pid == root or ppid == root:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def __enter__(self) -> Self:
        try:
            self.initdb()
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        account = self._account
        done = subprocess.run(
            [str(BIN / program), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            user=None if account is None else account[0],
            group=None if account is None else account[1],
            extra_groups=None if account is None else [],
            timeout=180,
            start_new_session=True,  # a Ctrl+C at the terminal reaches the benchmark alone
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr}\n{tail}")
