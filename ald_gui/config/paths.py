"""Where the console keeps its files: the embedded database, the spool, the logs.

The user data directory by default (platformdirs: ~/.local/share/ald-gui on Linux,
%LOCALAPPDATA%\\ald-gui on Windows, ~/Library/Application Support/ald-gui on macOS);
under root on Linux and macOS, /var/lib/ald-gui, where a system service keeps its state
(root's home is 0700, and the embedded server's account must pass through to its cluster;
widening /root is not ours to do). ``ALD_GUI_DATA_DIR`` or ``--data-dir`` moves it, which
tests and side-by-side installations use.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

ENV_VAR = "ALD_GUI_DATA_DIR"


def data_dir(override: Path | str | None = None) -> Path:
    """The data directory, created 0700 if missing: it holds every process value and
    operator name, which are no other local user's business. One made by an older
    release with the umask's 0755 is closed to 0700 when it holds the spool or the
    database; a directory of anything else is left as it is (its files are 0600)."""
    chosen = override or os.environ.get(ENV_VAR) or default_data_dir()
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _close(path)
    return path


def default_data_dir() -> Path:
    """Where the data lives when nothing says otherwise (see the module's docstring)."""
    if os.name == "posix" and os.geteuid() == 0:
        return Path(SYSTEM_DATA_DIR)
    return Path(platformdirs.user_data_dir("ald-gui", False))


SYSTEM_DATA_DIR = "/var/lib/ald-gui"
PRIVATE_DIR_MODE = 0o700
# Under root the embedded server's account may pass through (search bit, its group).
_ALLOWED_MODES = (PRIVATE_DIR_MODE, PRIVATE_DIR_MODE | stat.S_IXGRP)


def _close(path: Path) -> None:
    if os.name == "nt":  # the profile's ACLs already keep other users out
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    ours = spool_path(path).exists() or database_dir(path).exists()
    if mode not in _ALLOWED_MODES and (ours or not any(path.iterdir())):
        path.chmod(PRIVATE_DIR_MODE)


def spool_path(root: Path) -> Path:
    return root / "spool.sqlite3"


def clock_mark_path(root: Path) -> Path:
    """The stream clock's high-water mark (store.clock_mark)."""
    return root / "stream-clock.json"


def recipe_marker_path(root: Path) -> Path:
    """There while a recipe runs: a restart finds it if the console died in one
    (engine.recipe_marker)."""
    return root / "recipe-running.json"


def database_dir(root: Path) -> Path:
    return root / "postgres"


def recipes_dir(root: Path) -> Path:
    """The recipe library (store.recipe_library): one folder per recipe, one file per
    version. Made 0700 by the library: recipes are the site's process know-how."""
    return root / "recipes"


def accounts_copy_path(root: Path) -> Path:
    """This console's copy of the accounts, for logins while the database is away
    (store.account_cache); mode 0600, it holds the password hashes."""
    return root / "accounts-copy.json"
