"""PLC-timed pulses (engine/pulse.py) against the simulator's pulse timers over TCP:
the console writes the length and sets the trigger, the PLC times the pulse, and the
console confirms its end and records the PLC's on-time. The simulator runs on the real
clock here (``live_simulator``), as its timers do."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.commands import AbortRun
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.interlocks import InterlockRefused, Interlocks
from ald_gui.engine.pulse import (
    PLC_END_GRACE_S,
    ConsoleTimedPulse,
    OpenPulse,
    PlcTimedPulse,
    PulseDone,
    Pulses,
)
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import WriteNotConfirmed, WriteRefused
from ald_gui.sim.server import Simulator
from tests.fixtures.plc import pointed_at
from tests.recipe_run import RecipeRun, fast, recipe
from tests.waiting import wait_until

V1 = "valve_1"


@pytest.fixture
def client(live_sim_config: AppConfig) -> Iterator[PlcClient]:
    with PlcClient(live_sim_config.plc, live_sim_config.tags) as c:
        yield c


def _until(moment: float) -> None:
    wait_until(lambda: time.monotonic() >= moment, 5.0, "the pulse's end")


def _finish(driver: PlcTimedPulse, client: PlcClient, pulse: OpenPulse) -> PulseDone:
    """Call ``finish`` at each deadline it gives, as the poll thread does."""
    result: PulseDone | OpenPulse = pulse
    while isinstance(result, OpenPulse):
        _until(result.close_at)
        result = driver.finish(client, result)
    return result


def test_valves_with_a_pulse_timer_are_timed_by_the_plc(live_sim_config: AppConfig) -> None:
    pulses = Pulses(live_sim_config)
    process = live_sim_config.process
    assert isinstance(pulses.driver(process.valve("Valve 1")), PlcTimedPulse)
    assert isinstance(pulses.driver(process.valve("Valve 2")), PlcTimedPulse)
    assert isinstance(pulses.driver(process.valve("Valve 3")), ConsoleTimedPulse)


def test_the_plc_times_the_pulse_and_its_on_time_is_the_measured_one(
    live_sim_config: AppConfig, live_simulator: Simulator, client: PlcClient
) -> None:
    model = live_simulator.model
    valve = live_sim_config.process.valve("Valve 1")
    driver = PlcTimedPulse(live_sim_config)
    before = time.monotonic()
    pulse = driver.open(client, valve, 40)
    assert model.value(f"{V1}.valve_state") is True and model.value(f"{V1}.pulse_trigger") is True
    assert model.value(f"{V1}.pulse_time") == 40
    assert pulse.plc_count == 0
    assert before < pulse.opened_at and pulse.close_at == pytest.approx(pulse.opened_at + 0.040)

    done = _finish(driver, client, pulse)
    assert isinstance(done, PulseDone) and not done.cut_short
    assert (done.timed_by, done.requested_ms) == ("plc", 40)
    # The PLC's own figure: the simulated PLC closes to the microsecond.
    assert done.measured_ms == pytest.approx(40.0, abs=0.01)
    assert done.measured_ms == pytest.approx(float(model.value(f"{V1}.pulse_on_time")), abs=1e-3)
    assert done.detail == "Valve 1 (valve_1.valve_state), timed by the plc"
    assert model.value(f"{V1}.valve_state") is False and model.value(f"{V1}.pulse_count") == 1

    again = _finish(driver, client, driver.open(client, valve, 25))
    assert again.measured_ms == pytest.approx(25.0, abs=0.01)
    assert model.value(f"{V1}.pulse_count") == 2


def test_finish_before_the_plc_is_done_asks_again_later(
    live_sim_config: AppConfig, live_simulator: Simulator, client: PlcClient
) -> None:
    valve = live_sim_config.process.valve("Valve 2")
    driver = PlcTimedPulse(live_sim_config)
    pulse = driver.open(client, valve, 500)
    early = driver.finish(client, pulse)  # far too early: the PLC still holds it open
    assert isinstance(early, OpenPulse) and early.close_at > time.monotonic()
    assert early.opened_at == pulse.opened_at and early.plc_count == pulse.plc_count
    assert live_simulator.model.value("valve_2.valve_state") is True
    done = _finish(driver, client, early)
    assert done.measured_ms == pytest.approx(500.0, abs=0.01)


def test_close_now_clears_the_trigger_and_closes_the_valve(
    live_sim_config: AppConfig, live_simulator: Simulator, client: PlcClient
) -> None:
    model = live_simulator.model
    valve = live_sim_config.process.valve("Valve 1")
    driver = PlcTimedPulse(live_sim_config)
    pulse = driver.open(client, valve, 5000)
    done = driver.close_now(client, pulse)
    assert done.cut_short and done.detail.endswith("timed by the plc, closed early")
    assert model.value(f"{V1}.valve_state") is False and model.value(f"{V1}.pulse_trigger") is False
    assert model.value(f"{V1}.pulse_count") == 1  # counted, with the on-time it really had
    assert 0.0 < done.measured_ms < 5000.0
    assert done.measured_ms == pytest.approx(float(model.value(f"{V1}.pulse_on_time")), abs=1e-3)


def test_a_pulse_already_under_way_in_the_plc_is_not_started_again(
    live_sim_config: AppConfig, live_simulator: Simulator, client: PlcClient
) -> None:
    live_simulator.model.set_value(f"{V1}.pulse_time", 5000)
    live_simulator.model.set_value(f"{V1}.pulse_trigger", True)  # at the PLC, by hand
    driver = PlcTimedPulse(live_sim_config)
    with pytest.raises(WriteNotConfirmed, match="already set, a pulse is under way"):
        driver.open(client, live_sim_config.process.valve("Valve 1"), 100)
    assert live_simulator.model.value(f"{V1}.pulse_time") == 5000  # nothing written


def test_a_length_outside_the_time_register_is_refused_before_anything_is_sent(
    live_sim_config: AppConfig, live_simulator: Simulator, client: PlcClient
) -> None:
    driver = PlcTimedPulse(live_sim_config)
    with pytest.raises(WriteRefused, match=r"valve_1\.pulse_time"):
        driver.open(client, live_sim_config.process.valve("Valve 1"), 6000)  # max 5000
    assert live_simulator.model.value(f"{V1}.valve_state") is False


def test_a_pulse_the_plc_refuses_is_an_error_naming_it(reference_config: AppConfig) -> None:
    # This PLC takes pulses of Valve 1 up to 300 ms; the console was told nothing of it.
    valves = tuple(
        v.model_copy(update={"max_pulse_ms": 300}) if v.name == "Valve 1" else v
        for v in reference_config.process.valves
    )
    plc_side = reference_config.model_copy(
        update={"process": reference_config.process.model_copy(update={"valves": valves})}
    )
    with Simulator(plc_side) as simulator:
        config = pointed_at(reference_config, simulator)
        driver = PlcTimedPulse(config)
        with PlcClient(config.plc, config.tags) as client:
            pulse = driver.open(client, config.process.valve("Valve 1"), 400)
            _until(pulse.close_at)
            with pytest.raises(WriteNotConfirmed, match="the PLC refused the 400 ms pulse"):
                driver.finish(client, pulse)
        assert simulator.model.value(f"{V1}.valve_state") is False
        assert simulator.model.value(f"{V1}.pulse_count") == 0


def test_a_plc_that_does_not_end_the_pulse_has_the_console_close_it(
    reference_config: AppConfig, simulator: Simulator
) -> None:
    """The frozen simulator's timer never runs out: past the grace, the console closes
    the valve itself and says so."""
    config = pointed_at(reference_config, simulator)
    driver = PlcTimedPulse(config)
    with PlcClient(config.plc, config.tags) as client:
        pulse = driver.open(client, config.process.valve("Valve 1"), 20)
        with pytest.raises(WriteNotConfirmed, match="did not end its 20 ms pulse") as failed:
            _finish(driver, client, pulse)
    assert time.monotonic() >= pulse.close_at + PLC_END_GRACE_S
    assert "the console closed the valve" in str(failed.value)
    assert simulator.model.value(f"{V1}.valve_state") is False
    assert simulator.model.value(f"{V1}.pulse_trigger") is False


def test_setting_a_pulse_trigger_by_hand_opens_its_valve_for_the_interlocks(
    live_sim_config: AppConfig,
) -> None:
    interlocks = Interlocks(live_sim_config.process)
    closed = {f"valve_{i}.valve_state": 0.0 for i in range(1, 6)}
    interlocks.sampled(closed | {"valve_2.valve_state": 1.0})
    with pytest.raises(InterlockRefused, match="Valve 1 and Valve 2 never open together"):
        interlocks.check(f"{V1}.pulse_trigger", True)
    interlocks.check(f"{V1}.pulse_trigger", False)  # clearing it ends a pulse: always fine


def _ald(cycles: int, pulse_ms: int, purge_ms: int) -> Recipe:
    cycle = (
        Step.of(Pulse(valve="Valve 1", ms=pulse_ms)),
        Step.of(Purge(ms=purge_ms)),
        Step.of(Pulse(valve="Valve 2", ms=pulse_ms)),
        Step.of(Purge(ms=purge_ms)),
    )
    return Recipe(name="Al2O3, PLC-timed", steps=(Step.of(Loop(count=cycles, steps=cycle)),))


def test_a_recipe_hands_its_pulses_to_the_plc_and_records_the_plcs_on_times(
    live_sim_config: AppConfig, live_simulator: Simulator, qtbot: QtBot
) -> None:
    with RecipeRun(fast(live_sim_config), qtbot) as run:
        run.start(_ald(cycles=5, pulse_ms=60, purge_ms=600))
        ended = run.wait_ended(timeout_s=30)

    assert ended.status is RunStatus.COMPLETED, ended.reason
    pulses = [s for s in run.leaf_steps() if s.kind == "pulse"]
    assert len(pulses) == 10 and all(s.outcome == "done" for s in pulses)
    assert all(s.measured_ms == pytest.approx(60.0, abs=0.01) for s in pulses)
    assert all(s.detail.endswith("timed by the plc") for s in pulses)
    model = live_simulator.model
    assert (model.value(f"{V1}.pulse_count"), model.value("valve_2.pulse_count")) == (5, 5)
    # Five complete cycles of saturating pulses and long enough purges.
    assert model.value("chamber.film_thickness") == pytest.approx(0.5, rel=1e-6)


def test_abort_mid_plc_pulse_closes_the_valve(
    live_sim_config: AppConfig, live_simulator: Simulator, qtbot: QtBot
) -> None:
    model = live_simulator.model
    with RecipeRun(fast(live_sim_config), qtbot) as run:
        run.start(recipe(Pulse(valve="Valve 2", ms=5000), Purge(ms=10)))
        run.wait(lambda: model.value("valve_2.valve_state"), "the pulse to open")
        run.submit(AbortRun("stopped by hand"))
        ended = run.wait_ended()
        assert model.value("valve_2.valve_state") is False
        assert model.value("valve_2.pulse_trigger") is False

    assert ended.status is RunStatus.ABORTED
    [step] = run.steps
    assert (step.kind, step.outcome) == ("pulse", "aborted")
    assert step.measured_ms is not None and 0.0 < step.measured_ms < 5000.0
    assert step.detail.endswith("timed by the plc, closed early")
