"""``python -m ald_gui`` as a child process, the way a user or automation runs it.

``ald`` runs one command to its end. ``headless_demo`` starts ``ald-gui headless --demo``
and never lets it outlive the test; ``read_until_recording`` reads its output up to the
line that says it records. ``write_plant_config`` writes a configuration for either.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import tomli_w

from ald_gui.config.models import AppConfig


def ald(
    *args: str | Path, data_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``ald-gui ARGS`` (then ``--data-dir DATA_DIR`` if given), run to its end within
    120 s with no standard input; its output captured as text."""
    tail = [] if data_dir is None else ["--data-dir", str(data_dir)]
    return subprocess.run(
        [sys.executable, "-m", "ald_gui", *map(str, args), *tail],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@contextmanager
def headless_demo(
    data_dir: Path, *args: str, stderr: IO[str] | int, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``ald-gui headless --demo --data-dir DATA_DIR ARGS`` with its standard output a
    text pipe (``env``: its whole environment, else this one's). The test stops it as it
    means to; if it still runs at the end of the block it is killed and reaped, so no
    console (and no server of its) outlives the test."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "ald_gui", "headless", "--demo", "--data-dir", str(data_dir),
         *args],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        yield demo
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()


def read_until_recording(demo: subprocess.Popen[str], said: list[str] | None = None) -> bool:
    """Read ``demo``'s output up to the line that says it records (True), or to its end if
    it dies first (False): no wait on the clock. Each line read is added to ``said``."""
    assert demo.stdout is not None
    for line in demo.stdout:
        if said is not None:
            said.append(line)
        if line.startswith("recording:"):
            return True
    return False


def write_plant_config(directory: Path, config: AppConfig, dsn: str) -> Path:
    """``config`` recording into ``dsn``, written as ``directory/plant.toml``."""
    data = config.model_dump(mode="json", exclude_defaults=False)
    data["database"]["dsn"] = dsn
    path = directory / "plant.toml"
    path.write_text(tomli_w.dumps(_without_nones(data)), encoding="utf-8")
    return path


def _without_nones(value: Any) -> Any:
    # TOML has no null: an unset optional setting is left out.
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value
