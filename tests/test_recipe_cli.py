"""``ald-gui recipe check|dry-run`` on real files: findings, timeline, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from ald_gui.cli import main

DEMO = Path(str(resources.files("ald_gui.resources").joinpath("recipes", "al2o3_tma_h2o.toml")))

BAD = """\
name = "Al2O3"
[[steps]]
loop = { count = 10, steps = [
    { pulse = { valve = "Valve 1", ms = 20 } },
    { purge = { ms = 3000 } },
    { pulse = { valve = "Valve 9", ms = 20 } },
    { purge = { ms = 3000 } },
] }
"""

# Valve 3 is timed by the console in the reference reactor: a 10 ms pulse is a warning.
SHORT = """\
name = "short pulses"
[[steps]]
loop = { count = 3, steps = [
    { pulse = { valve = "Valve 3", ms = 10 } },
    { purge = { ms = 1000, flow_sccm = 50 } },
] }
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_a_good_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipe", "check", str(DEMO)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"{DEMO}: Al2O3 (TMA/H2O) v1 (sha256 ")
    assert "is ready to run: at most" in out[0]
    assert "pulses: Valve 1 ×20, Valve 2 ×20" in out[0]


def test_check_names_the_file_the_step_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "al2o3.toml", BAD)
    assert main(["recipe", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f'{path}: steps[0].loop.steps[2].pulse.valve: "Valve 9" is no valve of this machine '
        "(its valves: Valve 1, Valve 2, Valve 3, Valve 4, Valve 5, Valve 6): pulse one of those"
    )
    assert out[1].endswith("breaks 1 rule: not ready to run")


def test_only_warnings_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "short.toml", SHORT)
    assert main(["recipe", "check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}: steps[0].loop.steps[0].pulse.ms: warning: a 10 ms pulse")
    assert "is ready to run with 1 warning(s)" in out[1]


def test_check_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "al2o3.toml", BAD)
    assert main(["recipe", "check", "--json", str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["findings"] == [
        {
            "path": "steps[0].loop.steps[2].pulse.valve",
            "severity": "error",
            "rule": "valves",
            "message": data["findings"][0]["message"],
        }
    ]
    assert data["pulses_per_valve"] == {"Valve 1": 10, "Valve 9": 10}
    assert data["total_ms"] == 10 * 6040


def test_an_unreadable_or_invalid_file_exits_2_naming_it(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.toml": "cannot read the file",
        _write(tmp_path, "syntax.toml", 'name = "x\n'): "not valid TOML",
        _write(
            tmp_path,
            "twokinds.toml",
            BAD.replace("ms = 3000 }", "ms = 3000 }, wait = { ms = 5 }", 1),
        ): ("steps[0].loop.steps[1]: a step is exactly one of"),
    }
    for path, reason in cases.items():
        for action in ("check", "dry-run"):
            done = subprocess.run(
                [sys.executable, "-m", "ald_gui", "recipe", action, str(path)],
                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            assert done.returncode == 2, (path, done.stderr)
            assert done.stderr.startswith(f"{path}: "), done.stderr
            assert reason in done.stderr
            assert "Traceback" not in done.stderr


def test_dry_run_prints_every_step_and_the_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "short.toml", SHORT)
    assert main(["recipe", "dry-run", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["start", "length", "cycles", "step", "kind", "detail"]
    rows = out[1:7]
    assert rows[0].split() == [
        "0:00:00.000", "0.010", "s", "1/3", "steps[0].loop.steps[0]",
        "pulse", "Valve", "3", "10", "ms",
    ]  # fmt: skip
    assert rows[5].split()[:5] == ["0:00:02.030", "1.000", "s", "3/3", "steps[0].loop.steps[1]"]
    assert rows[5].endswith("purge  1000 ms at 50 sccm")
    assert out[7] == "total: 3.030 s, 6 steps, pulses: Valve 3 ×3"
    assert out[8].startswith(f"{path}: steps[0].loop.steps[0].pulse.ms: warning:")
    assert out[9].endswith("is ready to run with 1 warning(s)")


def test_dry_run_as_json_with_a_ramp_from_a_start_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        'name = "ramp"\n[[steps]]\n'
        'set = { tag = "chamber_heater.temperature_set", value = 150, ramp_per_s = 5 }\n'
    )
    path = _write(tmp_path, "ramp.toml", text)
    start = ["--start", "chamber_heater.temperature_set=25"]
    assert main(["recipe", "dry-run", "--json", str(path), *start]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_ms"] == 25_000
    assert data["unestimated_ramps"] == []
    assert data["steps"] == [
        {
            "path": "steps[0]",
            "kind": "set",
            "cycles": [],
            "start_ms": 0,
            "duration_ms": 25_000,
            "detail": "chamber_heater.temperature_set = 150, ramp 5/s from 25 (25000 ms)",
            "open_ended": False,
            "ramp_estimated": True,
        }
    ]
    assert main(["recipe", "dry-run", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total_ms"], data["unestimated_ramps"]) == (0, ["steps[0]"])
    assert main(["recipe", "dry-run", str(path), "--start", "nonsense"]) == 2


def test_the_recipe_group_takes_more_actions() -> None:
    import argparse

    from ald_gui.cli import recipe_cmd

    parser = argparse.ArgumentParser()
    actions = recipe_cmd.register(parser.add_subparsers(dest="command"))
    actions.add_parser("archive").set_defaults(run=lambda _: 0)
    assert parser.parse_args(["recipe", "archive"]).recipe_command == "archive"
    assert parser.parse_args(["recipe", "check", "f.toml"]).file == Path("f.toml")
