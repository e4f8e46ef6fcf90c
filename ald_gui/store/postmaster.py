"""What the operating system knows about a PostgreSQL server process.

PostgreSQL's own answers (``pg_ctl status``, its stale-lock check) rely on ``kill(pid, 0)``,
which is fooled by a zombie nobody reaps (PID 1 of some containers) and by a pid reused
after a reboot. These helpers look closer: process state, command line, and whether any
process still has the server's shared memory attached. Linux first; macOS and Windows in
spirit (where a check cannot be made, it says so and PostgreSQL decides).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, NamedTuple

if sys.platform == "win32":
    import ctypes
    import msvcrt

    def try_lock(f: IO[str]) -> bool:
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def process_alive(pid: int) -> bool:
        # os.kill(pid, 0) would terminate the process on Windows.
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == 0x102)  # WAIT_TIMEOUT
        finally:
            kernel32.CloseHandle(handle)

else:
    import fcntl

    def try_lock(f: IO[str]) -> bool:
        """Lock ``f`` exclusively without waiting; False if another open file of it holds
        the lock (in this process or another). Closing ``f`` releases it, as does death."""
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def process_alive(pid: int) -> bool:
        """True while ``pid`` runs; a zombie (exited, not reaped) counts as dead."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)


class PidFile(NamedTuple):
    """What a postmaster writes into postmaster.pid (one field per line)."""

    pid: int
    port: int | None
    socket_dir: str
    shm_id: int | None  # its System V segment, attached by every process of the server
    status: str  # "ready" once it accepts connections


def read_pid_file(data_dir: Path) -> PidFile | None:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None  # being written
    lines += [""] * (8 - len(lines))
    shm = lines[6].split()
    return PidFile(
        pid=int(lines[0]),
        port=int(lines[3]) if lines[3].strip().isdigit() else None,
        socket_dir=lines[4].strip(),
        shm_id=int(shm[1]) if len(shm) == 2 else None,
        status=lines[7].strip(),
    )


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (Linux); [] elsewhere or if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _is_zombie(pid: int) -> bool:
    fields = _proc_stat(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """True if ``pid`` runs ``postgres -D data_dir`` (as pg_ctl started it)."""
    if Path("/proc/self").is_dir():  # Linux
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        args = command.split("\0")
        return args[0].endswith("postgres") and str(data_dir) in args
    try:  # macOS, BSD
        ps = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True
        )
    except OSError:
        return False
    return "postgres" in ps.stdout and f"-D {data_dir}" in ps.stdout


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux); [] where /proc is missing."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if len(fields) > 1 and fields[1] == str(pid):
                found.append(int(entry.name))
    return found


def shm_attached(shm_id: int | None) -> bool:
    """True if a process still has the System V segment of a dead postmaster attached.
    PostgreSQL makes the same check before trusting a stale postmaster.pid."""
    if shm_id is None:
        return False
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return True  # cannot tell: let PostgreSQL decide
    for row in rows:
        cols = row.split()
        if cols[1] == str(shm_id):
            return int(cols[6]) > 0
    return False
