"""benchmarks/history_query.py runs end to end in its short mode: history written, the
reduced query reduced, the trends back-filled from it, the figures reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.timeout(600)
def test_the_history_benchmark_reduces_and_back_fills() -> None:
    done = subprocess.run(
        [sys.executable, "history_query.py", "--short"],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["benchmark"] == "history_query" and summary["short"] is True
    assert summary["reduced"] is True and summary["curves"] == 16
    # At most four points per pixel column per curve, fewer than the raw rows.
    assert summary["reduced_points"] <= 4 * 1600 * 16 < summary["raw_rows"]
    assert summary["backfill_answers"] >= 1 and summary["backfill_error"] == ""
    assert "parameter_value_history" in summary["plan"] or "rollup" in summary["plan"]
