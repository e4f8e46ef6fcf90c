"""The console killed (SIGKILL) with a precursor valve open: the PLC's watchdog closes it.

A real headless console (``python -m ald_gui headless``) beats the simulator's
watchdog; the simulator runs in this process on the real clock, with the reference
reactor's watchdog (a beat every 250 ms, a trip after 2 s without one).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ald_gui.config.models import AppConfig
from ald_gui.plc.client import PlcClient
from ald_gui.sim.server import Simulator
from tests.console_process import Console, write_config
from tests.waiting import wait_until

V1 = "valve_1.valve_state"
ON_THE_WIRE_S = 0.05  # a beat sent as the console died may be served just after


@pytest.fixture
def live_simulator(reference_config: AppConfig) -> Iterator[Simulator]:
    with Simulator(reference_config) as sim:
        yield sim


def test_killed_mid_pulse_the_valve_closes_within_the_watchdog_timeout(
    reference_config: AppConfig, live_simulator: Simulator, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    sim = live_simulator
    watchdog = reference_config.process.watchdog
    assert watchdog is not None
    timeout_s = watchdog.timeout_ms / 1000
    config = write_config(tmp_path / "plant.toml", plc_port=sim.port, dsn=migrated_pg_dsn)
    with Console(config, tmp_path / "data", tmp_path) as console:
        console.ready()
        wait_until(lambda: (w := sim.model.watchdog()) and w.armed, 10, "the first heartbeat")
        # A pulse under way: Valve 1 opened on the PLC.
        settings = reference_config.plc.model_copy(update={"port": sim.port})
        with PlcClient(settings, reference_config.tags) as client:
            client.write(reference_config.tag(V1), True)
        beats = sim.model.watchdog()
        assert beats is not None and not beats.tripped
        console.kill_9()
        killed_at_s = sim.model.elapsed_s  # the simulator's clock is the real one
        killed_at = time.monotonic()

    wait_until(lambda: sim.model.value(V1) is False, timeout_s + 5, "Valve 1 to close")
    closed_after = time.monotonic() - killed_at
    status = sim.model.watchdog()
    assert status is not None and status.tripped and status.trips == 1
    assert status.last_beat_s is not None and status.tripped_at_s is not None
    # Exactly the timeout after the last beat, which came before the kill (give or take
    # a beat on the wire as the console died): within the timeout of the kill.
    assert status.tripped_at_s == pytest.approx(status.last_beat_s + timeout_s, abs=1e-9)
    assert status.tripped_at_s - killed_at_s <= timeout_s + ON_THE_WIRE_S
    assert sim.model.value("plc_watchdog.tripped") is True
    print(
        f"valve closed {status.tripped_at_s - killed_at_s:.3f} s after the kill "
        f"(seen {closed_after:.3f} s after), timeout {timeout_s:g} s"
    )
