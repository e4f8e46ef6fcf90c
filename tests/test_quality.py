"""The code's own rules, checked with the tests so they cannot rot: lint, types, layers."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT_FREE = ["ald_gui/domain", "ald_gui/config", "ald_gui/plc", "ald_gui/store", "ald_gui/sim"]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this environment (pip install -e '.[test]')")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff() -> None:
    done = _run(_tool("ruff"), "check", "ald_gui", "tests", "benchmarks", "packaging", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_for_the_qt_free_packages() -> None:
    done = _run(_tool("mypy"), "--strict", *QT_FREE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_for_the_qt_packages() -> None:
    done = _run(_tool("mypy"), "ald_gui/engine", "ald_gui/ui", "ald_gui/cli")
    assert done.returncode == 0, done.stdout + done.stderr


def test_layers_of_the_design() -> None:
    done = _run(_tool("lint-imports"))
    assert done.returncode == 0, done.stdout + done.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_uses_qtcore_only() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(bad)
        for p in (ROOT / "ald_gui" / "engine").rglob("*.py")
        if (
            bad := {
                n
                for n in _imports(p)
                if n.startswith(("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph"))
            }
        )
    }
    assert offenders == {}
