"""The simulated chamber's answer to pulses and purges, and the film it grows: the
model on a frozen clock, moved by advance(), so every figure is exact."""

from __future__ import annotations

import pytest

from ald_gui.config.models import AppConfig
from ald_gui.sim.film import CVD_NM, GROWTH_PER_CYCLE_NM, PURGE_NEEDED_S, SATURATING_PULSE_MS
from ald_gui.sim.model import ReactorModel

CHAMBER = "pressure_gauge_1.pressure_read"
THICKNESS = "chamber.film_thickness"
TMA, H2O = "valve_1.valve_state", "valve_2.valve_state"


@pytest.fixture
def model(reference_config: AppConfig) -> ReactorModel:
    """The reference reactor pumped down to its base pressure."""
    m = ReactorModel(reference_config, clock=lambda: 0.0)
    m.set_value("vacuum_pump.power_on", True)
    m.advance(120)
    return m


def pressure(model: ReactorModel) -> float:
    return float(model.value(CHAMBER))


def pulse(model: ReactorModel, valve: str, ms: float) -> None:
    """Open ``valve`` for ``ms`` by hand (a console-timed pulse)."""
    model.set_value(valve, True)
    model.advance(ms / 1000)
    model.set_value(valve, False)


def cycles(model: ReactorModel, n: int, pulse_ms: float, purge_s: float) -> None:
    for _ in range(n):
        pulse(model, TMA, pulse_ms)
        model.advance(purge_s)
        pulse(model, H2O, pulse_ms)
        model.advance(purge_s)


def test_each_precursor_pulse_raises_the_pressure_and_the_pump_takes_it_down(
    model: ReactorModel,
) -> None:
    base = pressure(model)
    assert base < 2.0
    peaks = []
    for valve in (TMA, H2O, TMA):
        pulse(model, valve, 100)
        peaks.append(pressure(model))
        model.advance(20)
        assert pressure(model) < base + 0.1  # pumped down again during the purge
    assert all(p > base + 30.0 for p in peaks)
    # The burst of vapour from the line at the opening is pumped away; the vapour
    # flowing while the valve stays open holds the pressure up until it closes.
    pulse(model, TMA, 5000)
    assert pressure(model) > base + 15.0
    model.advance(20)
    assert pressure(model) < base + 0.1


def test_a_plc_timed_pulse_gives_the_same_rise_as_a_console_timed_one(
    reference_config: AppConfig,
) -> None:
    def peak(plc_timed: bool) -> float:
        m = ReactorModel(reference_config, clock=lambda: 0.0)
        m.set_value("vacuum_pump.power_on", True)
        m.advance(120)
        if plc_timed:
            m.set_value("valve_1.pulse_time", 100)
            m.set_value("valve_1.pulse_trigger", True)
            m.advance(0.1)
        else:
            pulse(m, TMA, 100)
        assert m.value(TMA) is False
        return pressure(m)

    assert peak(plc_timed=True) == pytest.approx(peak(plc_timed=False), rel=1e-9)


def test_a_purge_flow_raises_the_pressure_while_it_flows(model: ReactorModel) -> None:
    base = pressure(model)
    model.set_value("valve_5.valve_state", True)
    model.set_value("mfc_1.flow_set", 100.0)
    model.advance(15)
    flowing = pressure(model)
    assert base + 90.0 < flowing < base + 150.0  # 100 sccm of N2 against the pump
    model.set_value("mfc_1.flow_set", 0.0)
    model.set_value("valve_5.valve_state", False)
    model.advance(20)
    assert pressure(model) < base + 0.1


def test_complete_cycles_grow_the_growth_per_cycle_each(model: ReactorModel) -> None:
    assert model.value(THICKNESS) == 0.0
    cycles(model, 20, pulse_ms=100, purge_s=1.0)
    assert model.value(THICKNESS) == pytest.approx(20 * GROWTH_PER_CYCLE_NM, rel=1e-9)
    # Half a cycle shows as it ends: each half-reaction grows half of it.
    pulse(model, TMA, 100)
    assert model.value(THICKNESS) == pytest.approx(20.5 * GROWTH_PER_CYCLE_NM, rel=1e-9)


def test_short_pulses_grow_less(model: ReactorModel) -> None:
    cycles(model, 10, pulse_ms=SATURATING_PULSE_MS / 2, purge_s=1.0)
    assert model.value(THICKNESS) == pytest.approx(10 * GROWTH_PER_CYCLE_NM / 2, rel=1e-9)


def test_a_repeated_pulse_of_the_same_precursor_adds_nothing_once_saturated(
    model: ReactorModel,
) -> None:
    pulse(model, TMA, 100)
    model.advance(1.0)
    pulse(model, TMA, 100)
    model.advance(1.0)
    assert model.value(THICKNESS) == pytest.approx(GROWTH_PER_CYCLE_NM / 2, rel=1e-9)
    # An unsaturated pulse leaves room for a second one of the same precursor.
    pulse(model, H2O, SATURATING_PULSE_MS / 2)
    model.advance(1.0)
    pulse(model, H2O, SATURATING_PULSE_MS / 2)
    added = float(model.value(THICKNESS)) - GROWTH_PER_CYCLE_NM / 2
    assert added == pytest.approx(GROWTH_PER_CYCLE_NM / 2 * 0.75, rel=1e-9)


def test_purges_too_short_give_cvd_like_extra_growth(model: ReactorModel) -> None:
    cycles(model, 10, pulse_ms=100, purge_s=PURGE_NEEDED_S / 2)
    # Every pulse but the first meets half of the other precursor still in the gas.
    extra = 19 * CVD_NM * 0.5
    assert model.value(THICKNESS) == pytest.approx(10 * GROWTH_PER_CYCLE_NM + extra, rel=1e-9)


def test_both_precursors_open_together_meet_at_full_strength(model: ReactorModel) -> None:
    model.set_value(TMA, True)
    model.set_value(H2O, True)
    assert model.value(THICKNESS) == pytest.approx(CVD_NM, rel=1e-9)


def test_purge_and_other_valves_grow_nothing(model: ReactorModel) -> None:
    for valve in ("valve_5.valve_state", "valve_6.valve_state"):
        pulse(model, valve, 100)
        model.advance(1.0)
    assert model.value(THICKNESS) == 0.0
