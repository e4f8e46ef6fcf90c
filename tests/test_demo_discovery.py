"""``plc read`` and ``doctor`` find the simulator of a demo that runs (random port)."""

from __future__ import annotations

import json
from pathlib import Path

from ald_gui.cli.demo_plc import DEMO_PLC_FILE
from tests.ald_process import ald, headless_demo, read_until_recording


def test_plc_read_and_doctor_find_the_running_demos_simulator(pg_tmp_path: Path) -> None:
    data = pg_tmp_path / "data"
    announcement = data / DEMO_PLC_FILE
    with (
        (pg_tmp_path / "demo-stderr.txt").open("w+") as err,
        headless_demo(data, "--control-port", "-1", "--quiet", stderr=err) as demo,
    ):
        try:
            read_until_recording(demo)
            assert announcement.stat().st_mode & 0o777 == 0o600

            read = ald("plc", "read", "--json", "--data-dir", str(data))
            assert read.returncode == 0, read.stdout + read.stderr
            assert json.loads(read.stdout)["ok"] is True
            assert "using the running demo's simulator" in read.stderr

            doctor = ald("--data-dir", str(data), "doctor", "--json")
            checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
            assert checks["plc"]["ok"], checks["plc"]
        finally:
            demo.terminate()
            demo.communicate(timeout=60)
        err.seek(0)
        assert demo.returncode == 0, err.read()
    assert not announcement.exists()  # removed at exit
    after = ald("plc", "read", "--data-dir", str(data))
    assert "demo" not in after.stderr
