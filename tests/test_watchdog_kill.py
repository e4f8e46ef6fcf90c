"""The console killed (SIGKILL) in the middle of a recipe's pulse, then started again.

A real headless console (``python -m ald_gui headless``) runs a recipe from its
library, started over its HTTP run control: one 4 s pulse of Valve 3 (timed by the
console). It is killed 1 s into the pulse. The simulator runs in this process on
the real clock with the reference reactor's watchdog (a beat every 250 ms, a trip 2 s
after the last one): it closes the valve long before the pulse would have ended. The
console started again on the same data directory applies the safe state before
anything else, says so, and the run left open is closed as aborted; with its
database down too.
"""

from __future__ import annotations

import time
import tomllib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import tomli_w

from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Pulse, Purge, Recipe, Step
from ald_gui.sim.server import Simulator
from ald_gui.store.recipe_library import RecipeLibrary
from tests.console_process import Console, write_config
from tests.fixtures.plc import free_port
from tests.waiting import wait_until

V3, TRIPPED, FLOW = "valve_3.valve_state", "plc_watchdog.tripped", "mfc_1.flow_set"
PUMP = "vacuum_pump.power_on"
PULSE_MS = 4000
LONG_PULSE = Recipe(
    name="long pulse",
    steps=(Step.of(Pulse(valve="Valve 3", ms=PULSE_MS)), Step.of(Purge(ms=1000))),
)
SAFE_FLOW = 50.0  # the test's process.safe_state: the purge flow to fall back to
ON_THE_WIRE_S = 0.05  # a beat sent as the console died may be served just after


@dataclass(frozen=True)
class Killed:
    config: Path
    data_dir: Path
    run_id: str
    opened_at_s: float  # simulator time the pulse was seen open
    killed_at_s: float  # simulator time of the kill
    killed_at_us: int  # wall clock of the kill


@pytest.fixture
def live_simulator(reference_config: AppConfig) -> Iterator[Simulator]:
    with Simulator(reference_config) as sim:
        yield sim


def _timeout_s(config: AppConfig) -> float:
    assert config.process.watchdog is not None
    return config.process.watchdog.timeout_ms / 1000


def _kill_mid_pulse(sim: Simulator, dsn: str, root: Path) -> Killed:
    config = write_config(root / "plant.toml", plc_port=sim.port, dsn=dsn)
    with config.open("rb") as f:
        data = tomllib.load(f)
    data["process"]["safe_state"] = [{"tag": FLOW, "value": SAFE_FLOW}]
    config.write_text(tomli_w.dumps(data), encoding="utf-8")
    data_dir = paths.data_dir(root / "data")
    library = RecipeLibrary.of_data_dir(data_dir)
    saved = library.save_new_version(LONG_PULSE)
    library.release(saved.name, saved.version, by="test")

    sim.model.set_value(PUMP, True)  # a recipe run with the pump off is aborted (alarm)
    with Console(config, data_dir, root) as console:
        console.ready()
        wait_until(lambda: (w := sim.model.watchdog()) and w.armed, 10, "the first heartbeat")
        query = urllib.parse.urlencode({"operator": "kim", "recipe": LONG_PULSE.name})
        status, body = console.request("POST", f"/runs/start?{query}")
        assert status == 200 and body["ok"], body
        wait_until(lambda: sim.model.value(V3), 10, "the pulse to open Valve 3")
        opened_at_s = sim.model.elapsed_s
        wait_until(lambda: sim.model.elapsed_s >= opened_at_s + 1.0, 10, "1 s of the pulse")
        assert sim.model.value(V3) is True, "\n".join(console.lines)  # 3 s of the pulse left
        console.kill_9()
        killed_at_s = sim.model.elapsed_s  # the simulator's clock is the real one
        killed_at_us = time.time_ns() // 1000
    return Killed(config, data_dir, str(body["run"]["id"]), opened_at_s, killed_at_s, killed_at_us)


def test_killed_mid_pulse_the_valve_closes_within_the_watchdog_timeout(
    reference_config: AppConfig, live_simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    sim = live_simulator
    timeout_s = _timeout_s(reference_config)
    killed = _kill_mid_pulse(sim, migrated_pg_dsn, tmp_path)

    wait_until(lambda: sim.model.value(V3) is False, timeout_s + 5, "Valve 3 to close")
    status = sim.model.watchdog()
    assert status is not None and status.tripped and status.trips == 1
    assert status.last_beat_s is not None and status.tripped_at_s is not None
    # Exactly the timeout after the last beat, which came before the kill (give or take
    # a beat on the wire as the console died): within the timeout of the kill, and
    # long before the pulse would have ended.
    assert status.tripped_at_s == pytest.approx(status.last_beat_s + timeout_s, abs=1e-9)
    assert status.tripped_at_s - killed.killed_at_s <= timeout_s + ON_THE_WIRE_S
    assert status.tripped_at_s - killed.opened_at_s < PULSE_MS / 1000
    assert sim.model.value(TRIPPED) is True
    print(
        f"valve closed {status.tripped_at_s - killed.killed_at_s:.3f} s after the kill, "
        f"{status.tripped_at_s - killed.opened_at_s:.3f} s into a {PULSE_MS} ms pulse "
        f"(watchdog timeout {timeout_s:g} s)"
    )


def _flow_values_since(dsn: str, since_us: int) -> list[float]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT h.value FROM parameter_value_history h"
            " JOIN parameters p ON p.id = h.parameter_id"
            " WHERE p.key = %s AND h.sampled_at > to_timestamp(%s / 1e6)"
            " ORDER BY h.sampled_at",
            (FLOW, since_us),
        ).fetchall()
    return [float(r[0]) for r in rows]


def _run_status(dsn: str, run_id: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT status FROM process_executions WHERE id = %s", (run_id,)
        ).fetchone()
    return None if row is None else str(row[0])


def test_restarted_after_a_kill_mid_recipe_the_safe_state_comes_first_and_is_logged(
    live_simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    sim, dsn = live_simulator, migrated_pg_dsn
    killed = _kill_mid_pulse(sim, dsn, tmp_path)
    marker = paths.recipe_marker_path(killed.data_dir)
    assert marker.exists() and marker.stat().st_mode & 0o777 == 0o600
    wait_until(lambda: sim.model.value(TRIPPED), 10, "the watchdog to trip")
    sim.model.set_value(FLOW, 0.0)  # not the safe state's: the first sample tells

    with Console(killed.config, killed.data_dir, tmp_path) as console:
        console.ready()
        said = console.wait_for_line("The last session ended during recipe").string
        wait_until(lambda: _flow_values_since(dsn, killed.killed_at_us), 15, "samples committed")
        wait_until(lambda: _run_status(dsn, killed.run_id) == "aborted", 15, "the run closed")
        wait_until(lambda: not sim.model.value(TRIPPED), 10, "the heartbeat to clear the trip")
        assert console.terminate() == 0
        output = list(console.lines)

    assert f"long pulse version 1 (run {killed.run_id})" in said
    assert "Safe state applied before anything else: safe state verified by read-back" in said
    # Before the first sample: every value the new session recorded is the safe state's.
    flows = _flow_values_since(dsn, killed.killed_at_us)
    assert flows and set(flows) == {SAFE_FLOW}
    assert sim.model.value(V3) is False  # the watchdog closed it; nobody opened it again
    assert not marker.exists()
    assert any(f"run {killed.run_id}" in line for line in output)  # recovered by the store
    # In the log before the PLC's trip is reported (read before the first beat).
    lines = [i for i, line in enumerate(output) if "The last session ended" in line]
    trips = [i for i, line in enumerate(output) if "PLC watchdog tripped" in line]
    assert lines and trips and lines[0] < trips[0], output


def test_restarted_with_the_database_down_the_safe_state_still_comes_first(
    live_simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    sim = live_simulator
    killed = _kill_mid_pulse(sim, migrated_pg_dsn, tmp_path)
    # The same console, its database out of reach: the marker is a file, not a row.
    with killed.config.open("rb") as f:
        data = tomllib.load(f)
    data["database"]["dsn"] = f"postgresql://ald@127.0.0.1:{free_port()}/ald?connect_timeout=1"
    data["database"]["password_env"] = ""  # a login that needs none: nobody listens anyway
    killed.config.write_text(tomli_w.dumps(data), encoding="utf-8")
    sim.model.set_value(FLOW, 0.0)
    with Console(killed.config, killed.data_dir, tmp_path) as console:
        console.ready()
        said = console.wait_for_line("The last session ended during recipe").string
        assert sim.model.value(FLOW) == SAFE_FLOW
        assert console.terminate() == 0
    assert f"(run {killed.run_id})" in said and "safe state verified by read-back" in said
    assert not paths.recipe_marker_path(killed.data_dir).exists()
