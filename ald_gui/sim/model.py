"""The simulated reactor: the PLC memory of a configuration and the plant behind it.

Pure Python and deterministic given its clock: the server asks it for registers and
hands it writes; tests read and set engineering values and skip time with advance().
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import DataType, RegisterKind, Scaling, Tag
from ald_gui.sim.image import RegisterImage, Value
from ald_gui.sim.physics import AMBIENT_C, ATMOSPHERE_PA, build_plant
from ald_gui.sim.pulse_timer import PulseTimers
from ald_gui.sim.watchdog import SimWatchdog, WatchdogStatus, WriteHeld

# Where a freshly powered PLC starts: heaters cold at their setpoint, chamber vented,
# calibrations matching the configured scaling. Other tags start at 0 / off.
_START = {
    "temperature_read": AMBIENT_C,
    "temperature_set": AMBIENT_C,
    "kp": 10.0,
    "ki": 0.5,
    "kd": 1.0,
    "pid_period": 1000,
    "pressure_read": ATMOSPHERE_PA,
}
# Like a real PLC, readings change once per scan cycle: a client polling faster reads
# the same values again, and the physics costs nothing on those reads.
SCAN_CYCLE_S = 0.01


class ReactorModel:
    """The register image of every polled tag of ``config`` and the physics behind it.

    Time comes from ``clock`` (seconds, monotonic). Each access first runs the physics
    over the time the clock moved since the last scan, once that reaches SCAN_CYCLE_S
    or the watchdog (sim.watchdog) trips or a PLC-timed pulse (sim.pulse_timer) ends
    meanwhile (a write shows its effects at once, and takes effect at the exact time
    it arrives); ``advance()`` adds simulated time on demand,
    so with a frozen clock the model moves only when told. Thread-safe: every public
    method holds one lock, briefly (no I/O inside).
    """

    def __init__(self, config: AppConfig, clock: Callable[[], float] = time.monotonic) -> None:
        tags = config.polled_tags
        self._tags = {t.key: t for t in tags}
        self._unwired = {t.key for t in config.tags if not t.polled}
        self._image = RegisterImage(tags, config.plc.word_order, config.plc.byte_order)
        self._plant = build_plant(tags, config.process)
        self._pulse_timers = PulseTimers(config.process, self._tags)
        output_keys = self._plant.outputs + self._pulse_timers.outputs
        self._outputs = [self._tags[key] for key in output_keys]
        self._watchdog = SimWatchdog.of(config, self._plant.heaters)
        scalings = {t.component: t.scaling for t in tags if t.scaling is not None}
        self._values: dict[str, Value] = {
            t.key: _start_value(t, scalings.get(t.component)) for t in tags
        }
        # Writes reach a tag through its write target, or in place for a read-only
        # setting in a writable table. A written reading is simply overwritten by the
        # physics right after, as a PLC's next scan would.
        self._written_by: dict[tuple[RegisterKind, int], Tag] = {}
        for t in tags:
            if t.writable or (t.register_kind.is_writable_table and t.key not in output_keys):
                kind, address = t.write_target
                for a in range(address, address + t.data_type.register_count):
                    self._written_by[(kind, a)] = t
        for t in tags:
            self._store(t, self._values[t.key])
        self._clock = clock
        self._last = clock()
        self._elapsed = 0.0
        self._lock = threading.Lock()

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds since the model was built (clock progress plus advances)."""
        with self._lock:
            self._catch_up()
            return self._elapsed

    def watchdog(self) -> WatchdogStatus | None:
        """The PLC watchdog's state (sim.watchdog); None if the configuration has none."""
        with self._lock:
            self._catch_up()
            return self._watchdog.status() if self._watchdog else None

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int] | None:
        """Raw registers (0/1 for bit tables) as the PLC holds them now; None when the
        range leaves the table (a Modbus illegal data address)."""
        with self._lock:
            self._catch_up()
            return self._image.read(kind, address, count)

    def write(self, kind: RegisterKind, address: int, values: Sequence[int]) -> bool:
        """Apply a client's write of raw registers (or 0/1 bits); False, and nothing
        changed, when the range leaves the table. Readings are recomputed at once.
        Raises WriteHeld, nothing changed, when the tripped watchdog holds a tag."""
        with self._lock:
            self._catch_up(exact=True)
            before = self._image.read(kind, address, len(values))
            if before is None or not self._image.write(kind, address, values):
                return False
            touched = {
                tag.key: tag
                for a in range(address, address + len(values))
                if (tag := self._written_by.get((kind, a))) is not None
            }
            if self._watchdog is not None:
                self._hold(touched.values(), kind, address, before)
            for tag in touched.values():
                value = self._image.load(tag, at_write_target=True)
                if tag.write_target != (tag.register_kind, tag.address):
                    self._image.store(tag, value)
                self._apply(tag, value)
            if self._watchdog is not None:
                self._force(self._watchdog.outputs())
            self._publish()
            return True

    def value(self, key: str) -> Value:
        """The engineering value of a tag now (as a client would decode it, before
        float32 rounding). Raises KeyError naming an unknown or unwired tag."""
        with self._lock:
            self._catch_up()
            return self._values[self._tag(key).key]

    def set_value(self, key: str, value: Value) -> None:
        """Force a tag to an engineering value, as if written (setpoints, switches) or
        measured (readings, fault bits); the physics continues from there.

        Raises KeyError for an unknown or unwired tag and ald_gui.plc.codec.CodecError
        for a value the tag's data type cannot hold.
        """
        with self._lock:
            self._catch_up()
            tag = self._tag(key)
            self._store(tag, value)
            self._apply(tag, self._image.load(tag))
            self._publish()

    def advance(self, seconds: float) -> None:
        """Run the physics ``seconds`` of simulated time ahead, at once."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"cannot advance the simulation by {seconds!r} s")
        with self._lock:
            self._catch_up()
            self._integrate(seconds)

    def _tag(self, key: str) -> Tag:
        tag = self._tags.get(key)
        if tag is not None:
            return tag
        if key in self._unwired:
            raise KeyError(f"tag {key!r} has no address: the simulated PLC does not hold it")
        raise KeyError(f"no tag {key!r} in the simulated configuration")

    def _store(self, tag: Tag, value: Value) -> None:
        self._image.store(tag, value)
        if tag.writable and tag.write_target != (tag.register_kind, tag.address):
            self._image.store(tag, value, at_write_target=True)

    def _apply(self, tag: Tag, value: Value) -> None:
        was = self._values[tag.key]
        self._values[tag.key] = value
        if was != value:
            self._plant.switched(tag.key, was, value, self._values)
            at = self._elapsed
            self._force(dict(self._pulse_timers.switched(tag.key, value, at, self._values)))

    def _hold(
        self, tags: Iterable[Tag], kind: RegisterKind, address: int, before: list[int]
    ) -> None:
        """Undo the write and raise WriteHeld if the watchdog does not let it through;
        otherwise tell the watchdog what was written (a heartbeat)."""
        assert self._watchdog is not None
        written = [(t.key, self._image.load(t, at_write_target=True)) for t in tags]
        try:
            for key, value in written:
                self._watchdog.check(key, value)
        except WriteHeld:
            self._image.write(kind, address, before)
            raise
        for key, value in written:
            self._watchdog.written(key, value, self._elapsed)

    def _force(self, values: dict[str, Value]) -> None:
        """The PLC program's own changes of tags (the watchdog or a pulse timer closing
        a valve)."""
        for key, value in values.items():
            tag = self._tags[key]
            self._store(tag, value)
            self._apply(tag, value)

    def _next_event(self) -> float | None:
        """When the PLC program next acts on its own: the watchdog trips, a pulse ends."""
        trip = self._watchdog.due_at() if self._watchdog else None
        times = [t for t in (trip, self._pulse_timers.next_end()) if t is not None]
        return min(times, default=None)

    def _catch_up(self, *, exact: bool = False) -> None:
        now = self._clock()
        event = self._next_event()
        if (
            exact
            or now - self._last >= SCAN_CYCLE_S
            or (event is not None and event <= self._elapsed + now - self._last)
        ):
            self._integrate(now - self._last)
            self._last = now

    def _integrate(self, dt: float) -> None:
        # The step is cut wherever the PLC program acts on its own (the watchdog trips,
        # a pulse timer closes its valve), so the physics sees the valves closed from
        # that exact instant on.
        until = self._elapsed + dt
        while (event := self._next_event()) is not None and event <= until:
            self._run_plant(max(0.0, event - self._elapsed))
            trip = self._watchdog.due_at() if self._watchdog else None
            if self._watchdog is not None and trip is not None and trip <= event:
                self._force(self._watchdog.trip(self._elapsed, self._values))
            self._force(dict(self._pulse_timers.end_due(event, self._values)))
        self._run_plant(max(0.0, until - self._elapsed))
        self._publish()

    def _run_plant(self, dt: float) -> None:
        self._plant.step(dt, self._values)
        self._elapsed += dt

    def _publish(self) -> None:
        for tag in self._outputs:
            self._image.store(tag, self._values[tag.key])


def _start_value(tag: Tag, component_scaling: Scaling | None) -> Value:
    if tag.data_type is DataType.BOOL:
        return False
    name = tag.key.split(".", 1)[1]
    start = dict(_START)
    if component_scaling is not None:
        s = component_scaling
        start |= {
            "scale_min": s.eng_min,
            "scale_max": s.eng_max,
            "scale_min_voltage": s.raw_min,
            "scale_max_voltage": s.raw_max,
        }
    limits = {"temp_min_limit": tag.min, "temp_max_limit": tag.max}
    value = min(tag.max, max(tag.min, float(start.get(name, limits.get(name, 0.0)))))
    return round(value) if tag.data_type.is_integer else value
