"""The simulated PLC's pulse timers: a valve held open for an exact time, in the PLC.

One timer per valve whose ``[process]`` entry has a ``pulse_timer`` (the protocol is
config.process.PulseTimer). The PLC program it stands for, per valve:

- The trigger coil going 1 starts a pulse: the valve opens at once and closes
  ``time`` ms later, on the simulator's clock, to the microsecond (the model splits
  its time at the close, so it is exact even if nobody reads in between). The PLC
  then clears the trigger, adds one to the count and stores the on-time.
- A length of 0 or one above the valve's longest pulse (its ``max_pulse_ms``, else
  the rules' ``max_pulse_ms``, and never above the time tag's max) is refused: the
  trigger is cleared at once, the valve stays as it is, the count does not move.
- Setting the trigger again while a pulse runs does nothing (it is already 1): the
  pulse keeps its end. A new length written meanwhile applies to the next pulse.
- A pulse ends early when the trigger is cleared or the valve coil is closed (by the
  console or by the watchdog): the valve closes, the trigger is cleared, and the pulse
  is counted with the on-time it really had.

Pure and clock-free: the model hands every time in (simulated seconds) and applies
the changes a timer returns as ``(tag key, value)`` pairs, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.tags import DataType, Tag

Value = float | int | bool
Change = tuple[str, Value]

# Counts wrap to 0 past the largest value their register holds, as a PLC counter does.
_COUNT_WRAP = {
    DataType.INT16: 2**15,
    DataType.UINT16: 2**16,
    DataType.INT32: 2**31,
    DataType.FLOAT32: 2**24,  # the last count a float32 holds exactly
}


@dataclass
class _Timer:
    valve: str
    time: str
    trigger: str
    count: str
    on_time: str
    longest_ms: float
    wrap: int
    started_at: float | None = None  # simulated seconds; None when no pulse runs
    ends_at: float = 0.0


class PulseTimers:
    """Every PLC pulse timer of a configuration, found among its polled ``tags``."""

    def __init__(self, process: ProcessSettings, tags: Mapping[str, Tag]) -> None:
        self._timers: list[_Timer] = []
        for valve in process.valves:
            spec = valve.pulse_timer
            if spec is None:
                continue
            keys = (valve.tag, spec.time_tag, spec.trigger_tag, spec.count_tag, spec.on_time_tag)
            if not all(k in tags for k in keys):
                continue  # an unwired timer: the PLC has none (check_process names it)
            limit = valve.max_pulse_ms or process.rules.max_pulse_ms
            longest = min(float(limit), tags[spec.time_tag].max)
            wrap = _COUNT_WRAP.get(tags[spec.count_tag].data_type, 2**15)
            self._timers.append(_Timer(*keys, longest_ms=longest, wrap=wrap))
        self._by_key = {k: t for t in self._timers for k in (t.valve, t.trigger)}

    @property
    def outputs(self) -> tuple[str, ...]:
        """The tags the timers own (count and on-time): the PLC's, never a client's."""
        return tuple(k for t in self._timers for k in (t.count, t.on_time))

    def next_end(self) -> float | None:
        """When the earliest running pulse ends (simulated seconds), or None."""
        ends = [t.ends_at for t in self._timers if t.started_at is not None]
        return min(ends) if ends else None

    def switched(self, key: str, now: Value, at: float, v: Mapping[str, Value]) -> list[Change]:
        """What the PLC does when tag ``key`` changed to ``now`` at time ``at``."""
        timer = self._by_key.get(key)
        if timer is None:
            return []
        running = timer.started_at is not None
        if key == timer.trigger and now and not running:
            return self._start(timer, at, v)
        if running and not now:  # trigger cleared or valve closed: the pulse ends now
            return self._end(timer, at, v)
        return []

    def end_due(self, at: float, v: Mapping[str, Value]) -> list[Change]:
        """End every pulse whose time is up at ``at``, each at its own end time."""
        changes: list[Change] = []
        for timer in self._timers:
            if timer.started_at is not None and timer.ends_at <= at:
                changes += self._end(timer, timer.ends_at, v)
        return changes

    def _start(self, timer: _Timer, at: float, v: Mapping[str, Value]) -> list[Change]:
        length_ms = float(v[timer.time])
        if not 0 < length_ms <= timer.longest_ms:
            return [(timer.trigger, False)]
        timer.started_at = at
        timer.ends_at = at + length_ms / 1000.0
        return [(timer.valve, True)]

    def _end(self, timer: _Timer, at: float, v: Mapping[str, Value]) -> list[Change]:
        assert timer.started_at is not None
        on_time_ms = (at - timer.started_at) * 1000.0
        timer.started_at = None  # first, so the valve and trigger changes below are no news
        count = (int(v[timer.count]) + 1) % timer.wrap
        return [
            (timer.valve, False),
            (timer.trigger, False),
            (timer.count, count),
            (timer.on_time, on_time_ms),
        ]
