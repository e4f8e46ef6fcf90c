"""Where the console keeps its files: the embedded database, the spool, the logs.

The user data directory by default (platformdirs: ~/.local/share/ald-gui on Linux,
%LOCALAPPDATA%\\ald-gui on Windows, ~/Library/Application Support/ald-gui on macOS);
``ALD_GUI_DATA_DIR`` or ``--data-dir`` moves it, which tests and side-by-side
installations use.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "ALD_GUI_DATA_DIR"


def data_dir(override: Path | str | None = None) -> Path:
    """The data directory (created if missing)."""
    chosen = override or os.environ.get(ENV_VAR) or platformdirs.user_data_dir("ald-gui", False)
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_path(root: Path) -> Path:
    return root / "spool.sqlite3"


def clock_mark_path(root: Path) -> Path:
    """The stream clock's high-water mark (store.clock_mark)."""
    return root / "stream-clock.json"


def database_dir(root: Path) -> Path:
    return root / "postgres"
