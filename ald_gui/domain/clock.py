"""The stream clock: the time every recorded sample, gap and run boundary carries.

The wall clock is read once, at start; from then on the stream clock advances with
the monotonic clock, so the time between two samples is the time that really passed,
whatever happens to the wall clock. It is steered toward the wall clock smoothly
(slewed, at most ``slew_ppm`` of the elapsed time, NTP's own limit), so small
corrections of the wall clock reach the record without a jump. A change of the wall
clock beyond ``step_threshold_us`` is a step (set by hand, an NTP step, a virtual
machine resumed): it is reported once, through ``on_step``. A forward step is
followed (the stream jumps ahead: nothing is reordered); a backward one is not, or
times would be used twice: the stream goes on at real elapsed time and slews toward
the wall clock.

A restart must not reuse or rewind times either: the clock starts above ``floor_us``,
the high-water mark the previous session reserved, and before it hands out a time
beyond its own reservation it reserves further ahead through ``save`` (which the
caller makes durable). Pure: the clocks and the storage are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ald_gui.domain.events import ClockStepped

Micros = Callable[[], int]


def wall_us() -> int:
    """The wall clock, µs since the epoch (UTC)."""
    return time.time_ns() // 1000


def monotonic_us() -> int:
    """The monotonic clock, µs from an arbitrary origin."""
    return time.monotonic_ns() // 1000


class StreamClock:
    """``now()`` is strictly increasing, in µs since the epoch; not thread-safe (the
    poll thread owns it). ``keep_ahead()`` renews the reservation between samples, so
    that ``save`` is rarely called while a sample is being stamped."""

    def __init__(
        self,
        *,
        wall: Micros = wall_us,
        monotonic: Micros = monotonic_us,
        floor_us: int = 0,
        save: Callable[[int], None] = lambda _mark: None,
        on_step: Callable[[ClockStepped], None] = lambda _step: None,
        slew_ppm: int = 500,
        step_threshold_us: int = 1_000_000,
        reserve_ahead_us: int = 1_000_000,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._save = save
        self._on_step = on_step
        self._slew_ppm = slew_ppm
        self._threshold = step_threshold_us
        self._ahead = reserve_ahead_us
        self._reserved = floor_us
        m = self._monotonic()
        # stream time = monotonic + offset. A wall clock behind the previous session's
        # mark starts the stream just above the mark; the first reading reports it.
        self._offset = max(self._wall(), floor_us + 1) - m
        self._last_m = m
        self._last = floor_us
        self._known_error = 0  # wall - stream, as last seen: a jump from it is a step

    def now(self) -> int:
        m = self._monotonic()
        error = self._wall() - (m + self._offset)
        if abs(error - self._known_error) > self._threshold:
            self._on_step(ClockStepped(max(m + self._offset, self._last + 1), error))
            if error > 0:
                self._offset += error
                error = 0
        allowed = (m - self._last_m) * self._slew_ppm // 1_000_000
        correction = max(-allowed, min(allowed, error))
        self._offset += correction
        self._known_error = error - correction
        self._last_m = m
        self._last = max(m + self._offset, self._last + 1)
        if self._last > self._reserved:
            self._reserve()
        return self._last

    def keep_ahead(self) -> None:
        """Reserve further ahead if less than half the reservation is left. Call it
        between samples: it may write (``save``)."""
        if self._last + self._ahead // 2 > self._reserved:
            self._reserve()

    @property
    def reserved_us(self) -> int:
        """No session after this one hands out a time at or below this."""
        return self._reserved

    def _reserve(self) -> None:
        self._reserved = self._last + self._ahead
        self._save(self._reserved)
