"""The simulated PLC's watchdog: what keeps the reactor safe when the console dies.

The console writes a rising count to the heartbeat register (``process.watchdog``).
When the count has not changed for ``timeout_ms`` of the simulator's clock, the
watchdog trips, at exactly that instant of simulated time (the model splits its
physics step there, whether or not anyone reads in between):

- every precursor valve closes, and every configured pulse timer's trigger clears;
- the heaters are held: their setpoints and power switches stay as they are;
- the ``tripped`` status bit is set.

While tripped, a write that would open a precursor valve, set a pulse trigger or
change a held heater setting is refused whole (nothing of it applied) with Modbus
exception 4, server device failure (``WriteHeld``): nothing heats further on the
console's behalf, and whoever wrote learns that it was not done.

A simulator whose heartbeat was never written is not tripped: the watchdog arms at
the first heartbeat (the console may not be running yet). The trip clears as soon as
the heartbeat changes again; the valves stay closed (whoever opens them next does so
by a write of their own). Not thread-safe: the ReactorModel serialises every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ald_gui.config.models import AppConfig
from ald_gui.sim.physics import Heater

Value = float | int | bool


class WriteHeld(Exception):
    """A write the tripped watchdog does not let through; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class WatchdogStatus:
    """The watchdog as the PLC holds it; times are simulated seconds (model.elapsed_s)."""

    armed: bool
    tripped: bool
    last_beat_s: float | None
    tripped_at_s: float | None  # the last trip's instant
    trips: int


class SimWatchdog:
    """The watchdog of one simulated PLC. ``closes``: the coils a trip clears (precursor
    valves, pulse triggers); ``holds``: the heater settings a trip freezes."""

    def __init__(
        self,
        heartbeat: str,
        timeout_s: float,
        tripped: str | None,
        closes: Iterable[str],
        holds: Iterable[str],
    ) -> None:
        self.heartbeat = heartbeat
        self.timeout_s = timeout_s
        self.tripped_tag = tripped
        self._closes = frozenset(closes)
        self._holds = frozenset(holds)
        self._beat: Value | None = None
        self._beat_at: float | None = None
        self._tripped = False
        self._tripped_at: float | None = None
        self._trips = 0
        self._held: dict[str, Value] = {}

    @classmethod
    def of(cls, config: AppConfig, heaters: Iterable[Heater]) -> SimWatchdog | None:
        """The watchdog ``config`` asks for, on the tags the simulated PLC holds; None
        without a ``process.watchdog`` or with its heartbeat not wired."""
        settings = config.process.watchdog
        wired = {t.key for t in config.polled_tags}
        if settings is None or settings.heartbeat_tag not in wired:
            return None
        closes = [v.tag for v in config.process.precursor_valves]
        closes += [v.pulse_timer.trigger_tag for v in config.process.valves if v.pulse_timer]
        holds = [k for h in heaters for k in (h.setpoint, h.power) if k is not None]
        return cls(
            settings.heartbeat_tag,
            settings.timeout_ms / 1000,
            settings.tripped_tag if settings.tripped_tag in wired else None,
            (k for k in closes if k in wired),
            holds,
        )

    def status(self) -> WatchdogStatus:
        return WatchdogStatus(
            self._beat_at is not None, self._tripped, self._beat_at, self._tripped_at, self._trips
        )

    def due_at(self) -> float | None:
        """The simulated instant the watchdog trips unless the heartbeat changes first;
        None while unarmed or tripped."""
        if self._beat_at is None or self._tripped:
            return None
        return self._beat_at + self.timeout_s

    def check(self, key: str, value: Value) -> None:
        """Raise WriteHeld if a client's write of ``value`` to ``key`` must not apply."""
        if not self._tripped:
            return
        if key in self._closes and value:
            raise WriteHeld(f"watchdog tripped: {key} stays closed until the heartbeat resumes")
        if key in self._held and value != self._held[key]:
            raise WriteHeld(f"watchdog tripped: {key} is held until the heartbeat resumes")

    def written(self, key: str, value: Value, now_s: float) -> None:
        """A client's write of ``value`` to ``key`` took effect at simulated ``now_s``:
        a changed heartbeat arms the watchdog, or clears its trip."""
        if key == self.heartbeat and value != self._beat:
            self._beat, self._beat_at = value, now_s
            self._tripped = False

    def trip(self, now_s: float, values: Mapping[str, Value]) -> dict[str, Value]:
        """Trip at simulated time ``now_s``; returns the values the PLC forces."""
        self._tripped, self._tripped_at = True, now_s
        self._trips += 1
        self._held = {k: values[k] for k in self._holds}
        return self.outputs() | dict.fromkeys(self._closes, False)

    def outputs(self) -> dict[str, Value]:
        """The status bit, as the PLC publishes it."""
        return {} if self.tripped_tag is None else {self.tripped_tag: self._tripped}
