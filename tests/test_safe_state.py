"""The safe state against the real simulator over TCP: what it closes, what it leaves
alone, and what it says when the PLC cannot confirm it."""

from __future__ import annotations

from ald_gui.config.models import AppConfig
from ald_gui.config.process import SafeWrite
from ald_gui.engine.safe_state import apply_safe_state
from ald_gui.plc.client import PlcClient
from ald_gui.sim.server import Simulator
from tests.fixtures.plc import quick

PRECURSORS = [f"valve_{i}.valve_state" for i in (1, 2, 3, 4)]


def _with_safe_state(config: AppConfig, *writes: SafeWrite) -> AppConfig:
    process = config.process.model_copy(update={"safe_state": writes})
    return config.model_copy(update={"process": process})


def test_closes_every_precursor_valve_and_leaves_purge_pump_and_heaters(
    sim_config: AppConfig, simulator: Simulator
) -> None:
    config = _with_safe_state(
        sim_config, SafeWrite(tag="chamber_heater.temperature_set", value=150.0)
    )
    model = simulator.model
    for key in [*PRECURSORS, "valve_5.valve_state", "vacuum_pump.power_on"]:
        model.set_value(key, True)
    model.set_value("mfc_1.flow_set", 80.0)
    model.set_value("backline_heater.temperature_set", 120.0)

    with PlcClient(config.plc, config.tags) as client:
        result = apply_safe_state(client, config)

    assert result.verified, result.describe()
    assert [w.tag for w in result.writes] == [*PRECURSORS, "chamber_heater.temperature_set"]
    assert [model.value(k) for k in PRECURSORS] == [False] * 4
    assert model.value("chamber_heater.temperature_set") == 150.0
    # Purge gas, its flow, the pump and the other heaters are as they were.
    assert model.value("valve_5.valve_state") is True
    assert model.value("vacuum_pump.power_on") is True
    assert model.value("mfc_1.flow_set") == 80.0
    assert model.value("backline_heater.temperature_set") == 120.0
    assert "verified by read-back" in result.describe()


def test_a_refused_write_is_reported_and_the_others_are_still_made(
    sim_config: AppConfig, simulator: Simulator
) -> None:
    config = _with_safe_state(
        sim_config,
        SafeWrite(tag="chamber_heater.temperature_set", value=5000.0),  # above its 1000
        SafeWrite(tag="backline_heater.temperature_set", value=90.0),
    )
    simulator.model.set_value("valve_2.valve_state", True)
    with PlcClient(config.plc, config.tags) as client:
        result = apply_safe_state(client, config)

    assert not result.verified and not result.plc_unreachable
    [problem] = result.problems
    assert problem.startswith("process.safe_state[0] (chamber_heater.temperature_set): 5000")
    assert "outside chamber_heater.temperature_set's range 0..1000" in problem
    assert simulator.model.value("valve_2.valve_state") is False
    assert simulator.model.value("backline_heater.temperature_set") == 90.0


def test_plc_unreachable_is_not_verified_and_says_the_watchdog_holds_the_valves(
    sim_config: AppConfig, simulator: Simulator
) -> None:
    config = quick(sim_config, interval_s=0.05)
    simulator.model.set_value("valve_1.valve_state", True)
    with PlcClient(config.plc, config.tags) as client:
        client.poll()
        simulator.stall()
        result = apply_safe_state(client, config)
    simulator.clear_faults()

    assert not result.verified and result.plc_unreachable
    assert not any(w.verified for w in result.writes)
    # After the first timeout nothing more is tried: one timeout, not one per valve.
    assert all(w.problem.startswith("not tried") for w in result.writes[1:])
    assert "watchdog holds the valves" in result.describe()
    assert simulator.model.value("valve_1.valve_state") is True  # nobody closed it
