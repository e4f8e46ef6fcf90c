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
the high-water mark the previous session reserved, and it never hands out a time
beyond a reservation that is durable. It renews the reservation ahead of need through
``save_soon`` (which returns at once and makes the mark durable later, off the poll
thread; ``saved_us`` tells how far that got), and only if that is not done in time,
through ``save`` (which returns once the mark is durable). Without ``save_soon``, every
renewal goes through ``save``. Pure: the clocks and the storage are injected.
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
    that ``save`` is rarely called while a sample is being stamped, and, given
    ``save_soon``, not at all while the disk keeps up."""

    def __init__(
        self,
        *,
        wall: Micros = wall_us,
        monotonic: Micros = monotonic_us,
        floor_us: int = 0,
        save: Callable[[int], None] = lambda _mark: None,
        save_soon: Callable[[int], None] | None = None,
        saved_us: Callable[[], int] | None = None,
        on_step: Callable[[ClockStepped], None] = lambda _step: None,
        slew_ppm: int = 500,
        step_threshold_us: int = 1_000_000,
        reserve_ahead_us: int = 1_000_000,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._save = save
        self._save_soon, self._saved_us = save_soon, saved_us
        self._on_step = on_step
        self._slew_ppm = slew_ppm
        self._threshold = step_threshold_us
        self._ahead = reserve_ahead_us
        self._reserved = floor_us  # durable: no time above it is handed out
        self._requested = floor_us  # asked of save_soon, maybe not durable yet
        m = self._monotonic()
        # stream time = monotonic + offset. A wall clock behind the previous session's
        # mark starts the stream just above the mark; the first reading reports it.
        self._offset = max(self._wall(), floor_us + 1) - m
        self._last_m = m
        self._last = floor_us
        self._known_error = 0  # wall - stream, as last seen: a jump from it is a step
        # The first reservation is made here, by whoever builds the clock, so that the
        # first sample does not wait for it.
        self._reserved = self._requested = m + self._offset + self._ahead
        self._save(self._reserved)

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
        if self._last > self._reserved and not self._saved_beyond(self._last):
            self._reserve()
        return self._last

    def keep_ahead(self) -> None:
        """Reserve further ahead if less than half the reservation is left. Call it
        between samples: without ``save_soon`` it writes (``save``)."""
        wanted = self._last + self._ahead // 2
        if wanted <= self._reserved or self._saved_beyond(wanted):
            return
        if self._save_soon is None:
            self._reserve()
        elif self._requested < wanted:
            self._requested = self._last + self._ahead
            self._save_soon(self._requested)

    def _saved_beyond(self, us: int) -> bool:
        """Whether a reservation made through ``save_soon`` is durable up to ``us``."""
        if self._saved_us is not None:
            self._reserved = max(self._reserved, self._saved_us())
        return self._reserved >= us

    @property
    def reserved_us(self) -> int:
        """No session after this one hands out a time at or below this."""
        return self._reserved

    def _reserve(self) -> None:
        self._reserved = self._last + self._ahead
        self._requested = max(self._requested, self._reserved)
        self._save(self._reserved)
