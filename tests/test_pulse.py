"""Console-timed pulses against the real simulator over TCP: the valve opens, closes at
its deadline, and the measured on-time is the acknowledged open to the acknowledged
close."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ald_gui.config.models import AppConfig
from ald_gui.engine.pulse import ConsoleTimedPulse, PulseDone, Pulses
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcExceptionResponse, WriteRefused
from ald_gui.sim.server import Simulator
from tests.waiting import wait_until


@pytest.fixture
def client(sim_config: AppConfig) -> Iterator[PlcClient]:
    with PlcClient(sim_config.plc, sim_config.tags) as c:
        yield c


def test_a_pulse_opens_the_valve_and_closes_it_at_its_deadline(
    sim_config: AppConfig, simulator: Simulator, client: PlcClient
) -> None:
    valve = sim_config.process.valve("Valve 1")
    driver = Pulses(sim_config).driver(valve)
    before = time.monotonic()
    pulse = driver.open(client, valve, 30)
    assert simulator.model.value("valve_1.valve_state") is True
    assert before < pulse.opened_at < pulse.close_at <= pulse.opened_at + 0.030
    wait_until(lambda: time.monotonic() >= pulse.close_at, 2.0, "the pulse's close deadline")
    done = driver.finish(client, pulse)
    after = time.monotonic()

    assert isinstance(done, PulseDone) and not done.cut_short
    assert simulator.model.value("valve_1.valve_state") is False
    assert done.requested_ms == 30 and done.timed_by == "console"
    # Never shorter than asked; longer only by how late finish was called and the
    # close's round trip.
    assert 30.0 <= done.measured_ms <= (after - before) * 1000
    assert done.detail == "Valve 1 (valve_1.valve_state), timed by the console"


def test_close_now_ends_a_pulse_early_and_says_so(
    sim_config: AppConfig, simulator: Simulator, client: PlcClient
) -> None:
    valve = sim_config.process.valve("Valve 2")
    driver = ConsoleTimedPulse(sim_config)
    pulse = driver.open(client, valve, 5000)
    done = driver.close_now(client, pulse)
    assert simulator.model.value("valve_2.valve_state") is False
    assert done.cut_short and done.measured_ms < 5000
    assert done.detail.endswith("closed early")


def test_a_plc_that_refuses_the_close_is_an_error_not_a_closed_valve(
    sim_config: AppConfig, simulator: Simulator, client: PlcClient
) -> None:
    valve = sim_config.process.valve("Valve 1")
    driver = ConsoleTimedPulse(sim_config)
    pulse = driver.open(client, valve, 20)
    simulator.answer_with_exception(4)
    with pytest.raises(PlcExceptionResponse):
        driver.finish(client, pulse)
    simulator.clear_faults()
    assert simulator.model.value("valve_1.valve_state") is True  # still open: said so


def test_an_unwired_or_read_only_valve_tag_is_refused_before_any_io(
    sim_config: AppConfig, client: PlcClient
) -> None:
    tag = sim_config.tag("mfc_1.power_on")  # not wired
    with pytest.raises(WriteRefused, match="not wired"):
        client.write_echoed(tag, True)
