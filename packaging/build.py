"""Build the frozen console with PyInstaller: ``dist/ald-gui/``, one folder, no Python needed.

Usage, from the build environment (``pip install -c constraints.txt -e ".[build]"``)::

    python packaging/build.py [--dist DIR] [--work DIR]

Runs ``packaging/ald_gui.spec`` (PyInstaller does not cross-compile: the result is for
the OS it is built on), replacing an earlier build, and prints how long it took.
``packaging/smoke.py`` then checks the result. A shipped build must be one that can be
made again: the environment must hold exactly the releases of ``constraints.txt`` (what
the tests ran with), or nothing is built. Exit status: 0 built, 1 PyInstaller failed, 2
PyInstaller is not installed or the environment differs from ``constraints.txt``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "ald_gui.spec"
CONSTRAINTS = ROOT / "constraints.txt"


def differences_from_constraints(constraints: Path | None = None) -> list[str]:
    """Each package whose installed release is not the one ``constraints`` pins, in
    words; [] when the environment is the tested one. Packages it does not install here
    (another OS's) are not a difference."""
    found = []
    for line in (constraints or CONSTRAINTS).read_text(encoding="utf-8").splitlines():
        pinned = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.split("#")[0].strip())
        if pinned is None:
            continue
        name, wanted = pinned.groups()
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if installed != wanted:
            found.append(f"{name} {installed} (constraints.txt: {wanted})")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where ald-gui/ goes")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work")
    args = parser.parse_args(argv)
    differing = differences_from_constraints()
    if differing:
        print(
            "the build environment differs from constraints.txt, so this build could not be "
            f"made again: {', '.join(differing)}. Install it with "
            "pip install -c constraints.txt -e '.[build]'",
            file=sys.stderr,
        )
        return 2
    if find_spec("PyInstaller") is None:
        print(
            f"PyInstaller is not installed for {sys.executable}: "
            "pip install -c constraints.txt -e '.[build]'",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    status = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(args.dist), "--workpath", str(args.work), str(SPEC)],
        cwd=ROOT,
    ).returncode  # fmt: skip
    elapsed = time.monotonic() - started
    if status != 0:
        print(f"build failed after {elapsed:.0f} s (PyInstaller exit {status})", file=sys.stderr)
        return 1
    print(f"built {args.dist / 'ald-gui'} in {elapsed:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
