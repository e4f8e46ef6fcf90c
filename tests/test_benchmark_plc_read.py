"""benchmarks/plc_read.py compares what the two ways read, not only how fast they are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ald_gui.config.load import load_config

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_the_plc_benchmark_reads_the_same_values_both_ways() -> None:
    done = subprocess.run(
        [sys.executable, "plc_read.py", "--short"],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    tags = len(load_config().polled_tags)
    assert summary["values_differ"] == 0 and summary["tags"] == tags
    assert f"{tags} of {tags} tags read the same both ways" in done.stdout
    assert isinstance(summary["goal_met"], bool)
