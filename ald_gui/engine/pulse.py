"""Valve pulses, in halves, so the poll loop never blocks for a pulse's length.

``open`` starts a pulse and says when ``finish`` is due (``OpenPulse.close_at``, a
``time.monotonic`` deadline the poll loop waits for like a poll); ``finish`` ends it
and measures it; ``close_now`` ends it early (abort, failure). A ``PulseDriver`` does
this one way; ``Pulses.driver(valve)`` picks the way for a valve:

- console-timed (``ConsoleTimedPulse``): the coil is set at open and cleared at the
  deadline, each by one write whose echo is the acknowledgement; the measured on-time
  is the acknowledged close minus the acknowledged open, and a read after the close
  confirms the valve is shut.
- PLC-timed (valves with a ``pulse_timer``): the PLC times the pulse and reports its
  count and on-time (added by the PLC-timed mode; until then such valves are timed by
  the console).

Every method runs on the poll thread with its PlcClient and raises a PlcError when the
PLC fails or disagrees; the caller decides whether that suspends or fails the recipe.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ald_gui.config.models import AppConfig
from ald_gui.config.process import Valve
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import WriteNotConfirmed


@dataclass(frozen=True, slots=True)
class OpenPulse:
    """A pulse under way. Times are ``time.monotonic`` seconds: ``opened_at`` the
    acknowledged open, ``close_at`` when ``finish`` is due. ``plc_count`` is the PLC's
    pulse count before this pulse (PLC-timed pulses only)."""

    valve: Valve
    requested_ms: int
    opened_at: float
    close_at: float
    plc_count: int | None = None


@dataclass(frozen=True, slots=True)
class PulseDone:
    """A pulse that ended, its valve confirmed closed. ``measured_ms``: the on-time as
    measured (acknowledged open to acknowledged close, or the PLC's own figure)."""

    valve: Valve
    requested_ms: int
    measured_ms: float
    timed_by: str  # "console" or "plc"
    cut_short: bool = False

    @property
    def detail(self) -> str:
        """For the step record: the valve and how the pulse was timed."""
        text = f"{self.valve.name} ({self.valve.tag}), timed by the {self.timed_by}"
        return text + ", closed early" if self.cut_short else text


class PulseDriver(Protocol):
    """One way of timing a valve's pulse. The poll thread calls ``open``, then, once
    ``time.monotonic()`` reaches ``close_at``, ``finish``; or ``close_now`` to end the
    pulse early. Each raises a PlcError if the PLC fails or disagrees (a valve that
    still reads open after its close: WriteNotConfirmed)."""

    def open(self, client: PlcClient, valve: Valve, ms: int) -> OpenPulse: ...

    def finish(self, client: PlcClient, pulse: OpenPulse) -> PulseDone | OpenPulse:
        """The pulse's end; an OpenPulse with a later ``close_at`` when it is not over
        yet (a PLC-timed pulse whose count has not moved): call again then."""
        ...

    def close_now(self, client: PlcClient, pulse: OpenPulse) -> PulseDone: ...


class ConsoleTimedPulse:
    """The console opens and closes the coil; each write is one request, acknowledged
    by the PLC's echo, so the on-time it measures is not stretched by read-backs."""

    def __init__(self, config: AppConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._close_round_trips: deque[float] = deque(maxlen=32)

    def open(self, client: PlcClient, valve: Valve, ms: int) -> OpenPulse:
        client.write_echoed(self._config.tag(valve.tag), True)
        acked = self._clock()
        # The close takes effect about half a round trip after it is sent and is
        # acknowledged half a round trip later: sending it one close round trip early
        # makes acknowledged open to acknowledged close the length asked for. The least
        # of the last few round trips, so one slow answer does not cut pulses short.
        early = min(self._close_round_trips, default=0.0)
        return OpenPulse(valve, ms, opened_at=acked, close_at=acked + ms / 1000 - early)

    def finish(self, client: PlcClient, pulse: OpenPulse) -> PulseDone:
        return self._close(client, pulse, cut_short=False)

    def close_now(self, client: PlcClient, pulse: OpenPulse) -> PulseDone:
        return self._close(client, pulse, cut_short=True)

    def _close(self, client: PlcClient, pulse: OpenPulse, *, cut_short: bool) -> PulseDone:
        tag = self._config.tag(pulse.valve.tag)
        sent = self._clock()
        client.write_echoed(tag, False)
        acked = self._clock()
        self._close_round_trips.append(acked - sent)
        measured_ms = (acked - pulse.opened_at) * 1000
        # Confirmed after the close, so the read costs the pulse nothing.
        if client.read_tag(tag):
            raise WriteNotConfirmed(
                f"{pulse.valve.name} ({tag.key}) still reads open after its close"
            )
        return PulseDone(pulse.valve, pulse.requested_ms, measured_ms, "console", cut_short)


class Pulses:
    """The pulse driver for each valve of ``config``."""

    def __init__(self, config: AppConfig) -> None:
        self._console = ConsoleTimedPulse(config)

    def driver(self, valve: Valve) -> PulseDriver:
        return self._console
