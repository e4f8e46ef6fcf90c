"""Valve pulses, in halves, so the poll loop never blocks for a pulse's length.

``open`` starts a pulse and says when ``finish`` is due (``OpenPulse.close_at``, a
``time.monotonic`` deadline the poll loop waits for like a poll); ``finish`` ends it
and measures it; ``close_now`` ends it early (abort, failure). A ``PulseDriver`` does
this one way; ``Pulses.driver(valve)`` picks the way for a valve:

- console-timed (``ConsoleTimedPulse``): the coil is set at open and cleared at the
  deadline, each by one write whose echo is the acknowledgement; the measured on-time
  is the acknowledged close minus the acknowledged open, and a read after the close
  confirms the valve is shut.
- PLC-timed (``PlcTimedPulse``, valves with a ``pulse_timer``): the console writes
  the length (read back) and sets the trigger; the PLC opens the valve, closes it on
  its own clock, clears the trigger, counts the pulse and reports the on-time it
  measured, which is the measured on-time recorded. ``finish`` confirms all of that.

Every method runs on the poll thread with its PlcClient and raises a PlcError when the
PLC fails or disagrees; the caller decides whether that suspends or fails the recipe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ald_gui.config.models import AppConfig
from ald_gui.config.process import PulseTimer, Valve
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import WriteNotConfirmed

# How long past a PLC-timed pulse's end the PLC may take to report it over (its scan
# cycle, the link's jitter) before the console closes the valve itself and fails the
# pulse; and how soon it asks again meanwhile.
PLC_END_GRACE_S = 0.25
PLC_END_RETRY_S = 0.002


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

    def open(self, client: PlcClient, valve: Valve, ms: int) -> OpenPulse:
        client.write_echoed(self._config.tag(valve.tag), True)
        acked = self._clock()
        # The close is sent at the length after the acknowledged open, so a pulse is
        # never short; it is long by the close's round trip and by how late the poll
        # thread wakes. (Sending the close a round trip early, estimated from earlier
        # closes, cut pulses short by 10 ms when a loaded machine slowed those.)
        return OpenPulse(valve, ms, opened_at=acked, close_at=acked + ms / 1000)

    def finish(self, client: PlcClient, pulse: OpenPulse) -> PulseDone:
        return self._close(client, pulse, cut_short=False)

    def close_now(self, client: PlcClient, pulse: OpenPulse) -> PulseDone:
        return self._close(client, pulse, cut_short=True)

    def _close(self, client: PlcClient, pulse: OpenPulse, *, cut_short: bool) -> PulseDone:
        tag = self._config.tag(pulse.valve.tag)
        client.write_echoed(tag, False)
        measured_ms = (self._clock() - pulse.opened_at) * 1000
        # Confirmed after the close, so the read costs the pulse nothing.
        if client.read_tag(tag):
            raise WriteNotConfirmed(
                f"{pulse.valve.name} ({tag.key}) still reads open after its close"
            )
        return PulseDone(pulse.valve, pulse.requested_ms, measured_ms, "console", cut_short)


class PlcTimedPulse:
    """The PLC times the pulse (config.process.PulseTimer is the protocol).

    ``open`` reads the PLC's count and trigger (a trigger still set is a pulse under
    way: refused), writes the length and reads it back, then sets the trigger in one
    request: its echo is the acknowledged open, and the pulse is due to end ``ms``
    later. ``finish`` then expects the trigger cleared, the count one further and the
    valve closed, and takes the PLC's on-time as the measured one; while the trigger is
    still set it asks again shortly (an OpenPulse), for at most PLC_END_GRACE_S, then
    closes the valve itself and raises WriteNotConfirmed. A trigger cleared with the
    count unmoved is a pulse the PLC refused (WriteNotConfirmed too). ``close_now``
    clears the trigger and the valve coil and reports the on-time the PLC measured.
    """

    def __init__(self, config: AppConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock

    def open(self, client: PlcClient, valve: Valve, ms: int) -> OpenPulse:
        timer = self._timer(valve)
        tag = self._config.tag
        count = int(client.read_tag(tag(timer.count_tag)))
        if client.read_tag(tag(timer.trigger_tag)):
            raise WriteNotConfirmed(
                f"{valve.name}: the PLC's pulse trigger ({timer.trigger_tag}) is already "
                "set, a pulse is under way: not starting another"
            )
        client.write(tag(timer.time_tag), ms)
        client.write_echoed(tag(timer.trigger_tag), True)
        acked = self._clock()
        return OpenPulse(valve, ms, opened_at=acked, close_at=acked + ms / 1000, plc_count=count)

    def finish(self, client: PlcClient, pulse: OpenPulse) -> PulseDone | OpenPulse:
        timer = self._timer(pulse.valve)
        tag = self._config.tag
        triggered = bool(client.read_tag(tag(timer.trigger_tag)))
        count = int(client.read_tag(tag(timer.count_tag)))
        moved = count != pulse.plc_count
        if triggered and not moved:
            now = self._clock()
            ends_at = pulse.opened_at + pulse.requested_ms / 1000
            if now < ends_at:  # asked early: come back at its end
                return _later(pulse, ends_at)
            if now < ends_at + PLC_END_GRACE_S:
                return _later(pulse, now + PLC_END_RETRY_S)
            self.close_now(client, pulse)
            raise WriteNotConfirmed(
                f"{pulse.valve.name}: the PLC did not end its {pulse.requested_ms} ms pulse "
                f"within {PLC_END_GRACE_S * 1000:g} ms of its end (trigger "
                f"{timer.trigger_tag} still set): the console closed the valve"
            )
        if not moved:
            raise WriteNotConfirmed(
                f"{pulse.valve.name}: the PLC refused the {pulse.requested_ms} ms pulse "
                f"(trigger {timer.trigger_tag} cleared, count {timer.count_tag} still "
                f"{count}): is the length within its timer's limit?"
            )
        expected = _next_count(pulse.plc_count, self._config.tag(timer.count_tag).max)
        if count != expected:
            raise WriteNotConfirmed(
                f"{pulse.valve.name}: the PLC counted {timer.count_tag} from "
                f"{pulse.plc_count} to {count} for one pulse: another pulse ran meanwhile"
            )
        return self._ended(client, pulse, timer, count, cut_short=False)

    def close_now(self, client: PlcClient, pulse: OpenPulse) -> PulseDone:
        timer = self._timer(pulse.valve)
        client.write_echoed(self._config.tag(timer.trigger_tag), False)
        client.write_echoed(self._config.tag(pulse.valve.tag), False)
        return self._ended(client, pulse, timer, None, cut_short=True)

    def _ended(
        self,
        client: PlcClient,
        pulse: OpenPulse,
        timer: PulseTimer,
        count: int | None,
        *,
        cut_short: bool,
    ) -> PulseDone:
        """Confirm the valve closed; the measured on-time is the PLC's if it counted the
        pulse (``count``: the count read after the end, None to read it now)."""
        tag = self._config.tag
        if client.read_tag(tag(pulse.valve.tag)):
            raise WriteNotConfirmed(
                f"{pulse.valve.name} ({pulse.valve.tag}) still reads open after its "
                "PLC-timed pulse ended"
            )
        if count is None:
            count = int(client.read_tag(tag(timer.count_tag)))
        if count != pulse.plc_count:
            measured_ms = float(client.read_tag(tag(timer.on_time_tag)))
        else:  # closed before the PLC counted it (it never opened): the console's figure
            measured_ms = (self._clock() - pulse.opened_at) * 1000
        return PulseDone(pulse.valve, pulse.requested_ms, measured_ms, "plc", cut_short)

    @staticmethod
    def _timer(valve: Valve) -> PulseTimer:
        if valve.pulse_timer is None:
            raise ValueError(f"{valve.name} has no PLC pulse timer in the configuration")
        return valve.pulse_timer


def _later(pulse: OpenPulse, close_at: float) -> OpenPulse:
    return OpenPulse(pulse.valve, pulse.requested_ms, pulse.opened_at, close_at, pulse.plc_count)


def _next_count(before: int | None, largest: float) -> int:
    """The count one pulse after ``before``; a count at the largest its tag takes
    wraps to 0, as a PLC counter does."""
    assert before is not None
    return 0 if before >= largest else before + 1


class Pulses:
    """The pulse driver for each valve of ``config``: the PLC's where the valve has a
    ``pulse_timer``, the console's otherwise."""

    def __init__(self, config: AppConfig) -> None:
        self._console = ConsoleTimedPulse(config)
        self._plc = PlcTimedPulse(config)

    def driver(self, valve: Valve) -> PulseDriver:
        return self._plc if valve.pulse_timer is not None else self._console
