"""Where a running demo's simulator listens, for the one-shot commands (plc, doctor).

The demo's simulator takes a free port, which the configuration cannot know. While it
runs, the demo writes the address into a private file in the data directory (mode 0600)
and removes it at exit; ``plc read``, ``plc write`` and ``doctor`` use it when no
configuration file was given. A file left by a demo that was killed names a process
that is gone, and is ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ald_gui.config import paths
from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig
from ald_gui.store.postmaster import process_alive

DEMO_PLC_FILE = "demo-plc.json"


def find(data_dir: Path) -> tuple[str, int] | None:
    """``(host, port)`` of the simulator of a demo running on ``data_dir``, or None."""
    try:
        found = json.loads((data_dir / DEMO_PLC_FILE).read_text(encoding="utf-8"))
        host, port, pid = str(found["host"]), int(found["port"]), int(found["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (host, port) if process_alive(pid) else None


@contextmanager
def announced(data_dir: Path, host: str, port: int) -> Iterator[None]:
    """Announce this process's simulator on ``data_dir`` while the block runs. Another
    live demo's announcement is left alone (that demo is refused the data directory
    anyway, and must not lose its file when this one exits)."""
    path = data_dir / DEMO_PLC_FILE
    if find(data_dir) is not None:
        yield
        return
    text = json.dumps({"host": host, "port": port, "pid": os.getpid()})
    partial = path.with_name(f".{DEMO_PLC_FILE}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, path)
    try:
        yield
    finally:
        with suppress(OSError):
            if path.read_text(encoding="utf-8") == text:
                path.unlink()


def plc_config(args: argparse.Namespace) -> AppConfig:
    """The configuration for a one-shot PLC command: the file given, or the bundled one
    pointed at a running demo's simulator if there is one (said on stderr)."""
    config = load_config(args.config)
    if args.config is not None:
        return config
    found = find(paths.data_dir(getattr(args, "data_dir", None)))
    if found is None:
        return config
    host, port = found
    print(f"using the running demo's simulator at {host}:{port}", file=sys.stderr)
    return config.model_copy(
        update={"plc": config.plc.model_copy(update={"host": host, "port": port})}
    )
