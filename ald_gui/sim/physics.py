"""The reactor's plausible physics, found in the configuration by the tags' names.

Every part works on a dict of engineering values keyed by tag key: it reads its inputs
(setpoints and switches) and updates its outputs (readings). Inputs are held constant
over a step and each part follows a first-order lag, integrated exactly, so one step
of an hour is as correct as 3600 steps of a second and a step costs microseconds.
A part whose tags the configuration lacks (or leaves unwired) is simply absent. The
film on the substrate (``film.Film``) is a part too, fed by the precursor valves.

Deliberately not simulated: PID gains, periods, autotune and calibration coils (they
are stored as written), and the exhaust gate valve (the chamber is pumped whenever
the pump runs, so a freshly started simulator pumps down without extra steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.tags import Tag
from ald_gui.sim.film import Film

Value = float | int | bool

AMBIENT_C = 25.0
HEAT_TAU_S = 40.0
COOL_TAU_S = 150.0
# PID output: the power that holds the setpoint above ambient, plus a proportional
# part, so it saturates at 100 % far below the setpoint and settles when there.
HOLD_PCT_PER_K = 0.1
GAIN_PCT_PER_K = 1.0

FLOW_TAU_S = 0.5

# Full scale of the reference gauges (0-10 V = 0-100 kPa), taken as the atmosphere.
ATMOSPHERE_PA = 100_000.0
BASE_PA = 1.0
PUMP_TAU_S = 2.0
VENT_TAU_S = 20.0
FLOW_LOAD_PA_PER_SCCM = 1.0
OPEN_VALVE_LOAD_PA = 20.0
VALVE_SPIKE_PA = 40.0
FORELINE_BASE_PA = 0.5
FORELINE_SHARE = 0.05
FORELINE_TAU_S = 1.0

N2_WARMUP_S = 5.0


def approach(x: float, target: float, tau_s: float, dt: float) -> float:
    """Exact first-order lag of ``x`` towards a constant ``target`` over ``dt`` seconds."""
    return target + (x - target) * math.exp(-dt / tau_s)


def _key(component: str, name: str, keys: set[str]) -> str | None:
    key = f"{component}.{name}"
    return key if key in keys else None


@dataclass
class Heater:
    """A PID-controlled heater: heats towards its setpoint (clamped to its limits) when
    powered, cools to ambient when not. Without a power tag it is always powered."""

    temperature: str
    setpoint: str
    power: str | None
    output: str | None
    low_limit: str | None
    high_limit: str | None

    def step(self, dt: float, v: dict[str, Value]) -> None:
        on = self.power is None or bool(v[self.power])
        t = float(v[self.temperature])
        target = float(v[self.setpoint])
        if self.low_limit is not None:
            target = max(target, float(v[self.low_limit]))
        if self.high_limit is not None:
            target = min(target, float(v[self.high_limit]))
        t = approach(t, target, HEAT_TAU_S, dt) if on else approach(t, AMBIENT_C, COOL_TAU_S, dt)
        v[self.temperature] = t
        if self.output is not None:
            pct = HOLD_PCT_PER_K * (target - AMBIENT_C) + GAIN_PCT_PER_K * (target - t)
            v[self.output] = round(min(100.0, max(0.0, pct))) if on else 0


@dataclass
class FlowController:
    """A mass flow controller whose reading follows its setpoint with a short lag
    (towards zero while a wired power tag is off)."""

    flow: str
    setpoint: str
    power: str | None

    def step(self, dt: float, v: dict[str, Value]) -> None:
        on = self.power is None or bool(v[self.power])
        target = float(v[self.setpoint]) if on else 0.0
        v[self.flow] = max(0.0, approach(float(v[self.flow]), target, FLOW_TAU_S, dt))


@dataclass
class Vacuum:
    """Chamber gauge, foreline gauges, pump and pulse valves.

    With the pump running the chamber falls towards a base pressure raised by the gas
    flowing in (MFC flows, open valves); stopped, it rises towards atmosphere. Opening
    a valve adds a pressure spike at once. Foreline gauges follow the pump and a share
    of the chamber pressure."""

    chamber: str | None
    forelines: tuple[str, ...]
    pump: str | None
    valves: tuple[str, ...]
    flows: tuple[str, ...]

    def step(self, dt: float, v: dict[str, Value]) -> None:
        pumping = self.pump is not None and bool(v[self.pump])
        chamber = ATMOSPHERE_PA
        if self.chamber is not None:
            if pumping:
                load = FLOW_LOAD_PA_PER_SCCM * sum(float(v[f]) for f in self.flows)
                load += OPEN_VALVE_LOAD_PA * sum(1 for k in self.valves if v[k])
                target, tau = min(ATMOSPHERE_PA, BASE_PA + load), PUMP_TAU_S
            else:
                target, tau = ATMOSPHERE_PA, VENT_TAU_S
            chamber = approach(float(v[self.chamber]), target, tau, dt)
            v[self.chamber] = chamber
        for gauge in self.forelines:
            if pumping:
                target, tau = FORELINE_BASE_PA + FORELINE_SHARE * chamber, FORELINE_TAU_S
            else:
                target, tau = ATMOSPHERE_PA, VENT_TAU_S
            v[gauge] = approach(float(v[gauge]), target, tau, dt)

    def switched(self, key: str, was: Value, now: Value, v: dict[str, Value]) -> None:
        if self.chamber is not None and key in self.valves and now and not was:
            v[self.chamber] = min(ATMOSPHERE_PA, float(v[self.chamber]) + VALVE_SPIKE_PA)


@dataclass
class NitrogenGenerator:
    """Ready (its purity bit) after a warm-up while powered, unless in fault."""

    power: str
    ready: str
    fault: str | None
    warm_s: float = field(default=0.0)

    def step(self, dt: float, v: dict[str, Value]) -> None:
        self.warm_s = self.warm_s + dt if v[self.power] else 0.0
        faulted = self.fault is not None and bool(v[self.fault])
        v[self.ready] = bool(v[self.power]) and self.warm_s >= N2_WARMUP_S and not faulted


@dataclass
class Plant:
    """All parts of the reactor found in a configuration."""

    heaters: list[Heater]
    flow_controllers: list[FlowController]
    vacuum: Vacuum
    nitrogen: list[NitrogenGenerator]
    film: Film | None
    outputs: tuple[str, ...]

    def step(self, dt: float, v: dict[str, Value]) -> None:
        """Advance every part by ``dt`` seconds (flows before the pressures they load)."""
        for heater in self.heaters:
            heater.step(dt, v)
        for mfc in self.flow_controllers:
            mfc.step(dt, v)
        self.vacuum.step(dt, v)
        for generator in self.nitrogen:
            generator.step(dt, v)
        if self.film is not None:
            self.film.step(dt, v)

    def switched(self, key: str, was: Value, now: Value, v: dict[str, Value]) -> None:
        """React at once to an input that changed (a valve opening spikes the pressure)."""
        self.vacuum.switched(key, was, now, v)
        if self.film is not None:
            self.film.switched(key, was, now, v)


def build_plant(tags: Sequence[Tag], process: ProcessSettings | None = None) -> Plant:
    """Find the reactor's parts among the (polled) tags, by component and tag name;
    the film grows from the pulses of ``process``'s precursor valves."""
    keys = {t.key for t in tags}
    components = list(dict.fromkeys(t.key.split(".", 1)[0] for t in tags))
    bool_keys = {t.key for t in tags if t.register_kind.is_bit}
    heaters: list[Heater] = []
    mfcs: list[FlowController] = []
    gauges: list[str] = []
    valves: list[str] = []
    pump: str | None = None
    nitrogen: list[NitrogenGenerator] = []
    for c in components:
        temperature, setpoint = _key(c, "temperature_read", keys), _key(c, "temperature_set", keys)
        if temperature and setpoint:
            heaters.append(
                Heater(
                    temperature,
                    setpoint,
                    _key(c, "power_on", keys),
                    _key(c, "pid_output", keys),
                    _key(c, "temp_min_limit", keys),
                    _key(c, "temp_max_limit", keys),
                )
            )
        flow, flow_set = _key(c, "flow_read", keys), _key(c, "flow_set", keys)
        if flow and flow_set:
            mfcs.append(FlowController(flow, flow_set, _key(c, "power_on", keys)))
        if gauge := _key(c, "pressure_read", keys):
            gauges.append(gauge)
        if c.startswith("valve") and (valve := _key(c, "valve_state", keys)):
            valves.append(valve)
        if c.endswith("pump") and (switch := _key(c, "power_on", keys)):
            pump = switch
        ready, power = _key(c, "purity_read", keys), _key(c, "power_on", keys)
        if ready in bool_keys and power:
            nitrogen.append(NitrogenGenerator(power, ready, _key(c, "fault_status", keys)))
    # The first gauge of the configuration is the chamber's; the others sit on the foreline.
    vacuum = Vacuum(
        gauges[0] if gauges else None,
        tuple(gauges[1:]),
        pump,
        tuple(valves),
        tuple(m.flow for m in mfcs),
    )
    film = None
    thickness = next((t.key for t in tags if t.name == "film_thickness"), None)
    if thickness is not None and process is not None:
        precursors = tuple(v.tag for v in process.precursor_valves if v.tag in keys)
        film = Film(thickness, precursors)
    outputs: list[str] = [h.temperature for h in heaters]
    outputs += [h.output for h in heaters if h.output is not None]
    outputs += [m.flow for m in mfcs] + gauges + [n.ready for n in nitrogen]
    outputs += [film.thickness] if film is not None else []
    return Plant(heaters, mfcs, vacuum, nitrogen, film, tuple(outputs))
