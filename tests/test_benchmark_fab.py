"""The fab-scale benchmarks in their short mode: the storage layouts answer the same, and
consoles on one Debian PostgreSQL 15 ride out its outage with nothing lost (CI proves
they work; the figures are judged only in full mode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ald_gui.config.load import load_config
from tests.fixtures.debian_pg import BIN

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
TAGS = len(load_config().polled_tags)


def _short(script: str) -> dict:
    done = subprocess.run(
        [sys.executable, script, "--short"],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict = json.loads(done.stdout.splitlines()[-1])
    return summary


@pytest.mark.timeout(600)  # a server and 440,000 rows: minutes on a loaded machine
def test_both_storage_layouts_hold_and_answer_the_same_samples() -> None:
    x = _short("storage_layout.py")
    instants = int(x["hours"] * 3600 * x["rate_hz"])
    assert x["tags"] == TAGS and x["query_one_tag"]["answers_equal"] is True
    assert x["query_one_tag"]["rows_returned"] == instants
    assert x["disk"]["per_tag"]["rows"] == instants * TAGS
    assert x["disk"]["per_instant"]["rows"] == instants
    assert all(x["disk"][k]["bytes_per_hour"] > 0 for k in ("per_tag", "per_instant"))


@pytest.mark.skipif(not (BIN / "initdb").exists(), reason="Debian's PostgreSQL 15 not here")
@pytest.mark.timeout(600)  # three consoles, a load, an outage, a catch-up and three doctors
def test_consoles_on_one_server_ride_out_its_outage_with_nothing_lost() -> None:
    x = _short("fab_load.py")
    machines = {f"tool-{i + 1:02d}" for i in range(x["consoles"])}
    assert x["problems"] == []
    assert set(x["steady"]["latency"]) == machines  # every console committed under load
    assert x["outage"]["spool_items_min"] > 0  # every console spooled while it was away
    assert x["catch_up"]["all_caught_up"] is True
    assert x["doctor_clean"] == dict.fromkeys(machines, True)
    assert x["samples_lost"] == dict.fromkeys(machines, 0)
    assert x["out_of_order_groups"] == dict.fromkeys(machines, 0)
