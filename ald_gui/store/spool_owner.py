"""Who owns a spool file: one console at a time, marked by a lock of its own.

SQLite's exclusive locking mode would also keep a second console out, but it keeps every
reader out too (``doctor``, ``ald-gui spool list``). An operating-system lock on
``<spool>.owner``, held while a :class:`~ald_gui.store.spool.Spool` is open and released
by the OS when the process dies, keeps out only other owners.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from ald_gui.store.postmaster import try_lock

__all__ = ["SpoolError", "SpoolInUse", "claim", "owned", "owner_lock_path"]


class SpoolError(Exception):
    """The spool file cannot be used (newer format, closed, corrupt)."""


class SpoolInUse(SpoolError):
    """Another process (or another Spool object) holds the spool file."""


def owner_lock_path(path: Path) -> Path:
    """The file whose lock says who owns the spool at ``path``."""
    return path.with_name(path.name + ".owner")


def owned(path: Path) -> bool:
    """True while a Spool object (a console, here or in another process) owns the spool at
    ``path``. Tests the owner's lock by taking it for an instant: an owner opening in that
    very instant is refused as if another held it."""
    lock = owner_lock_path(path)
    if not lock.exists():
        return False
    with open(lock, "a") as owner:
        return not try_lock(owner)


def claim(path: Path) -> IO[str]:
    """Take the owner's lock of the spool at ``path``; raise SpoolInUse if it is held."""
    fd = os.open(owner_lock_path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    owner = open(fd, "a")  # noqa: SIM115 (held until close)
    if not try_lock(owner):
        owner.close()
        raise SpoolInUse(
            f"spool {path} is open elsewhere (another process or Spool object): "
            "a console is recording into it"
        )
    return owner
