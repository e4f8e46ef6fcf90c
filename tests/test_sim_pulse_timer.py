"""The simulated PLC's pulse timers over real Modbus TCP (pymodbus's own client), on a
frozen clock moved by ``model.advance()``, and on a clock that jumps without reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusTcpClient

from ald_gui.config.models import AppConfig
from ald_gui.sim.model import ReactorModel
from ald_gui.sim.server import Simulator
from tests.test_sim import connect, read_tag, write_tag

V1 = "valve_1"


@pytest.fixture
def client(simulator: Simulator) -> Iterator[ModbusTcpClient]:
    c = connect(simulator.port)
    yield c
    c.close()


def _state(client: ModbusTcpClient, config: AppConfig, valve: str = V1) -> tuple[object, ...]:
    """(valve open, trigger set, pulse count, last on-time ms) as a console reads them."""
    return tuple(
        read_tag(client, config, f"{valve}.{name}")
        for name in ("valve_state", "pulse_trigger", "pulse_count", "pulse_on_time")
    )


def test_a_trigger_opens_the_valve_for_the_time_then_counts_the_pulse(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, f"{V1}.pulse_time", 150)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    assert _state(client, sim_config) == (True, True, 0, 0.0)
    simulator.model.advance(0.1499)
    assert _state(client, sim_config)[:3] == (True, True, 0)
    simulator.model.advance(0.0002)
    assert _state(client, sim_config) == (False, False, 1, pytest.approx(150.0, abs=1e-3))
    # The other timer and the console-timed valves are untouched.
    assert _state(client, sim_config, "valve_2") == (False, False, 0, 0.0)
    assert read_tag(client, sim_config, "valve_3.valve_state") is False
    # The next pulse is counted again, with its own length.
    write_tag(client, sim_config, f"{V1}.pulse_time", 40)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(1.0)
    assert _state(client, sim_config) == (False, False, 2, pytest.approx(40.0, abs=1e-3))


def test_a_second_trigger_while_a_pulse_runs_changes_nothing(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, f"{V1}.pulse_time", 200)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(0.1)
    # Set again, with a new length: neither restarts nor lengthens the running pulse.
    write_tag(client, sim_config, f"{V1}.pulse_time", 1000)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(0.1001)
    assert _state(client, sim_config) == (False, False, 1, pytest.approx(200.0, abs=1e-3))
    simulator.model.advance(2.0)
    assert read_tag(client, sim_config, f"{V1}.pulse_count") == 1  # no second pulse


@pytest.mark.parametrize("length_ms", [0, 5001, 60_000])
def test_a_length_of_zero_or_above_the_longest_pulse_is_refused(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig, length_ms: int
) -> None:
    # Written by raw Modbus (the console's own checks would refuse these values):
    # the PLC clears the trigger at once and opens nothing.
    write_tag(client, sim_config, f"{V1}.pulse_time", length_ms)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    assert _state(client, sim_config) == (False, False, 0, 0.0)
    simulator.model.advance(70.0)
    assert _state(client, sim_config) == (False, False, 0, 0.0)


def test_the_longest_pulse_is_the_valves_own_limit(reference_config: AppConfig) -> None:
    valves = tuple(
        v.model_copy(update={"max_pulse_ms": 300}) if v.name == "Valve 1" else v
        for v in reference_config.process.valves
    )
    process = reference_config.process.model_copy(update={"valves": valves})
    model = ReactorModel(reference_config.model_copy(update={"process": process}), lambda: 0.0)
    model.set_value(f"{V1}.pulse_time", 301)
    model.set_value(f"{V1}.pulse_trigger", True)
    assert model.value(f"{V1}.valve_state") is False
    model.set_value(f"{V1}.pulse_time", 300)
    model.set_value(f"{V1}.pulse_trigger", True)
    assert model.value(f"{V1}.valve_state") is True


@pytest.mark.parametrize("how", ["trigger cleared", "valve closed"])
def test_a_pulse_cut_short_closes_the_valve_and_counts_its_real_on_time(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig, how: str
) -> None:
    write_tag(client, sim_config, f"{V1}.pulse_time", 500)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(0.120)
    key = f"{V1}.pulse_trigger" if how == "trigger cleared" else f"{V1}.valve_state"
    write_tag(client, sim_config, key, False)
    assert _state(client, sim_config) == (False, False, 1, pytest.approx(120.0, abs=1e-3))
    simulator.model.advance(1.0)  # the timer does not come back to close it again
    assert _state(client, sim_config)[2] == 1


def test_count_and_on_time_belong_to_the_plc(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, f"{V1}.pulse_time", 10)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(0.05)
    # A client's write to the read-only registers is undone by the PLC's next scan.
    write_tag(client, sim_config, f"{V1}.pulse_count", 77)
    write_tag(client, sim_config, f"{V1}.pulse_on_time", 9.0)
    assert _state(client, sim_config)[2:] == (1, pytest.approx(10.0, abs=1e-3))


def test_the_pulse_ends_on_time_even_when_nobody_reads_in_between(
    reference_config: AppConfig,
) -> None:
    """The clock jumps 4 s past a 100 ms pulse with no access in between: the valve
    closed at 0.1 s, and the chamber behaves exactly as if read every millisecond."""
    jumped_at = [0.0]
    ticked_at = [0.0]
    jumped = ReactorModel(reference_config, clock=lambda: jumped_at[0])
    ticked = ReactorModel(reference_config, clock=lambda: ticked_at[0])
    for model in (jumped, ticked):
        model.set_value("vacuum_pump.power_on", True)
        model.advance(60)
        model.set_value(f"{V1}.pulse_time", 100)
        model.set_value(f"{V1}.pulse_trigger", True)
    for ms in range(1, 3001):
        ticked_at[0] = ms / 1000
        ticked.value("pressure_gauge_1.pressure_read")
    # One more scan for both at the same instant (readings move once per scan cycle).
    jumped_at[0] = ticked_at[0] = 4.0
    for key in (f"{V1}.pulse_on_time", "pressure_gauge_1.pressure_read", "chamber.film_thickness"):
        assert jumped.value(key) == pytest.approx(ticked.value(key), rel=1e-9), key
    assert jumped.value(f"{V1}.pulse_on_time") == pytest.approx(100.0, abs=1e-6)
    assert jumped.value(f"{V1}.pulse_count") == 1
    assert jumped.value(f"{V1}.valve_state") is False


def test_a_watchdog_trip_ends_a_running_pulse_at_its_instant(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, "plc_watchdog.heartbeat", 1)  # arms it: 2 s timeout
    write_tag(client, sim_config, f"{V1}.pulse_time", 5000)
    simulator.model.advance(0.5)
    write_tag(client, sim_config, f"{V1}.pulse_trigger", True)
    simulator.model.advance(3.0)  # the heartbeat stops; the trip comes 1.5 s into the pulse
    assert read_tag(client, sim_config, "plc_watchdog.tripped") is True
    assert _state(client, sim_config) == (False, False, 1, pytest.approx(1500.0, abs=1e-3))


def test_a_refused_trigger_is_echoed_as_written_then_reads_cleared(
    client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    # A PLC's answer to a single write echoes the request, whatever its program does
    # with the value afterwards.
    write_tag(client, sim_config, f"{V1}.pulse_time", 0)
    trigger = sim_config.tag(f"{V1}.pulse_trigger")
    assert trigger.address is not None
    answer = client.write_coil(trigger.address, True, device_id=1)
    assert not answer.isError() and answer.bits[0] is True
    assert read_tag(client, sim_config, f"{V1}.pulse_trigger") is False
