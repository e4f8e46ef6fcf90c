"""The simulated PLC's watchdog, over real Modbus TCP with the console's own client.

The simulator's clock is the test's: a heartbeat is written, the clock is moved to
just before and exactly to the timeout, and what the PLC holds is read back over TCP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import RegisterKind
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcExceptionResponse
from ald_gui.sim.model import ReactorModel
from ald_gui.sim.server import Simulator
from tests.fixtures.plc import frozen_clock

HEARTBEAT, TRIPPED = "plc_watchdog.heartbeat", "plc_watchdog.tripped"
V1, V2, V5 = "valve_1.valve_state", "valve_2.valve_state", "valve_5.valve_state"
SETPOINT, POWER = "chamber_heater.temperature_set", "chamber_heater.power_on"
PRESSURE = "pressure_gauge_1.pressure_read"


class Clock:
    """A clock the test sets: the simulator's time moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def plc(reference_config: AppConfig, clock: Clock) -> Iterator[tuple[Simulator, PlcClient]]:
    with Simulator(reference_config, clock=clock) as sim:
        settings = reference_config.plc.model_copy(update={"port": sim.port})
        with PlcClient(settings, reference_config.tags) as client:
            yield sim, client


def _timeout_s(config: AppConfig) -> float:
    assert config.process.watchdog is not None
    return config.process.watchdog.timeout_ms / 1000


def test_the_watchdog_trips_exactly_at_the_timeout_and_closes_the_precursor_valves(
    plc: tuple[Simulator, PlcClient], clock: Clock, reference_config: AppConfig
) -> None:
    sim, client = plc
    tag = reference_config.tag
    timeout = _timeout_s(reference_config)
    client.write(tag(POWER), True)
    client.write(tag(SETPOINT), 150.0)
    client.write(tag(HEARTBEAT), 1)
    beat_s = sim.model.elapsed_s
    client.write(tag(V1), True)
    client.write(tag(V5), True)  # the purge valve: no precursor, left as it is

    tick = 2**-10  # under a scan cycle; binary fractions keep the sums exact
    clock.now += timeout - tick
    assert client.read_tag(tag(TRIPPED)) is False
    assert client.read_tag(tag(V1)) is True

    clock.now += tick  # exactly the timeout after the beat
    assert client.read_tag(tag(TRIPPED)) is True
    assert client.read_tag(tag(V1)) is False
    assert client.read_tag(tag(V5)) is True
    status = sim.model.watchdog()
    assert status is not None and status.tripped and status.trips == 1
    assert status.tripped_at_s == pytest.approx(beat_s + timeout, abs=1e-9)
    # The heaters are held: the setpoint stays, and the heater stays powered.
    assert client.read_tag(tag(SETPOINT)) == pytest.approx(150.0)
    assert client.read_tag(tag(POWER)) is True


def test_while_tripped_no_write_opens_a_precursor_valve_or_changes_a_heater(
    plc: tuple[Simulator, PlcClient], clock: Clock, reference_config: AppConfig
) -> None:
    sim, client = plc
    tag = reference_config.tag
    client.write(tag(SETPOINT), 150.0)
    client.write(tag(HEARTBEAT), 7)
    clock.now += _timeout_s(reference_config)
    assert client.read_tag(tag(TRIPPED)) is True

    # Refused whole, with an exception: the PLC holds the valve closed and the heater.
    for key, value in ((V2, True), (SETPOINT, 300.0)):
        with pytest.raises(PlcExceptionResponse, match="exception 4"):
            client.write(tag(key), value)
    assert client.read_tag(tag(V2)) is False
    assert client.read_tag(tag(SETPOINT)) == pytest.approx(150.0)
    client.write(tag(V5), True)  # the purge valve may still be opened

    # The heartbeat resumes: the trip clears, the valves stay closed until opened.
    client.write(tag(HEARTBEAT), 8)
    assert client.read_tag(tag(TRIPPED)) is False
    assert client.read_tag(tag(V1)) is False and client.read_tag(tag(V2)) is False
    client.write(tag(V2), True)
    client.write(tag(SETPOINT), 300.0)
    status = sim.model.watchdog()
    assert status is not None and status.armed and not status.tripped and status.trips == 1


def test_a_heartbeat_that_keeps_changing_never_trips(
    plc: tuple[Simulator, PlcClient], clock: Clock, reference_config: AppConfig
) -> None:
    _, client = plc
    tag = reference_config.tag
    timeout = _timeout_s(reference_config)
    client.write(tag(V1), True)
    for count in range(1, 20):
        client.write(tag(HEARTBEAT), count)
        clock.now += timeout * 0.9
        assert client.read_tag(tag(TRIPPED)) is False
    # The same count written again is no heartbeat: it trips a timeout after the last change.
    client.write(tag(HEARTBEAT), 19)
    clock.now += timeout * 0.1
    assert client.read_tag(tag(TRIPPED)) is True
    assert client.read_tag(tag(V1)) is False


def test_a_simulator_whose_heartbeat_was_never_written_is_not_tripped(
    plc: tuple[Simulator, PlcClient], clock: Clock, reference_config: AppConfig
) -> None:
    sim, client = plc
    tag = reference_config.tag
    client.write(tag(V1), True)
    clock.now += 60 * _timeout_s(reference_config)
    assert client.read_tag(tag(TRIPPED)) is False
    assert client.read_tag(tag(V1)) is True
    status = sim.model.watchdog()
    assert status is not None and not status.armed and status.trips == 0


def test_the_trip_takes_effect_at_its_instant_when_nobody_reads_in_between(
    reference_config: AppConfig,
) -> None:
    """One jump of 30 s with a valve open: the physics sees the valve closed from the
    trip on, exactly as if the valve had been closed by hand at that instant."""
    timeout = _timeout_s(reference_config)
    models = [ReactorModel(reference_config, frozen_clock) for _ in range(2)]
    for model in models:
        model.set_value("vacuum_pump.power_on", True)
        model.advance(60.0)  # pumped down: an open valve's gas load shows
    tripping, by_hand = models
    tripping.write(*_heartbeat_write(reference_config, 3))
    tripping.set_value(V1, True)
    tripping.advance(30.0)

    by_hand.set_value(V1, True)
    by_hand.advance(timeout)
    by_hand.set_value(V1, False)
    by_hand.advance(30.0 - timeout)

    status = tripping.watchdog()
    assert status is not None and status.tripped_at_s == pytest.approx(60.0 + timeout, abs=1e-9)
    assert tripping.value(V1) is False and tripping.value(TRIPPED) is True
    assert tripping.value(PRESSURE) == pytest.approx(by_hand.value(PRESSURE), rel=1e-9)


def _heartbeat_write(config: AppConfig, count: int) -> tuple[RegisterKind, int, list[int]]:
    kind, address = config.tag(HEARTBEAT).write_target
    return kind, address, [count]
