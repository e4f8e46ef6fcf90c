"""The console's heartbeat: what keeps the PLC's watchdog from tripping.

Every ``process.watchdog.period_ms`` the poll thread writes a rising count (1..65535,
then 1 again) to the heartbeat register, as one more deadline of its scheduler. The
PLC trips its watchdog when the count has not changed for ``timeout_ms``: the console
died, hung or lost the link (sim.watchdog does what a PLC programmed for it does).

A beat is one write acknowledged by the PLC's echo (no read-back: the next poll reads
the register anyway). A failed beat is a PLC problem like a failed poll: no crash, no
value made up, and one event for a stretch of failures, not one per beat. Beats are
not recorded: the poll records the register like any tag. The ``tripped`` status the
PLC reports is watched in every sample, and its changes are events too. Since a beat
clears a trip at once, the first beat of the session and the first after failures
read the status first: a trip while the console was away is reported, not missed.

The count starts at a random value, so that a console started again does not write
the very count its predecessor left (which the PLC would not take for a beat). No Qt;
called on the poll thread only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

from ald_gui.config.models import AppConfig
from ald_gui.config.process import Watchdog
from ald_gui.domain.events import SafetyEvent, SafetyEventKind, Severity
from ald_gui.domain.stream import now_us
from ald_gui.domain.tags import Tag
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError

_MAX_COUNT = 65535  # the register is a uint16


class Heartbeat:
    """Beats of ``watchdog`` to ``tag``. ``clock``: the poll loop's (time.monotonic)."""

    def __init__(
        self,
        watchdog: Watchdog,
        tag: Tag,
        tripped: Tag | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._period_s = watchdog.period_ms / 1000
        self._timeout_s = watchdog.timeout_ms / 1000
        self._tag = tag
        self._tripped_tag = tripped
        self._clock = clock
        self._count = random.randrange(_MAX_COUNT)
        self._due = clock()  # the first beat at once
        self._failing = False
        self._look = True  # read the tripped status before the next beat
        self._tripped: bool | None = None  # as last seen; None: not seen yet

    @classmethod
    def of(cls, config: AppConfig) -> Heartbeat | None:
        """The heartbeat ``config`` asks for (``process.watchdog``), or None."""
        watchdog = config.process.watchdog
        if watchdog is None:
            return None
        tripped = config.tag(watchdog.tripped_tag) if watchdog.tripped_tag else None
        return cls(watchdog, config.tag(watchdog.heartbeat_tag), tripped)

    @property
    def due_at(self) -> float:
        """When the next beat is due, on the clock given."""
        return self._due

    def beat(self, client: PlcClient) -> list[SafetyEvent]:
        """Write the next count now; the events this brings, in order: a trip found
        before the beat, the first failure of a stretch, the first beat after one.
        Never raises for a PLC failure."""
        now = self._clock()
        # On an absolute schedule, like the polls; after a stall, once, not a burst.
        self._due = max(self._due + self._period_s, now)
        self._count = self._count % _MAX_COUNT + 1
        events: list[SafetyEvent] = []
        try:
            if self._look and self._tripped_tag is not None:
                events += self._seen(bool(client.read_tag(self._tripped_tag)))
            self._look = False
            client.write_echoed(self._tag, self._count)
        except PlcError as exc:
            self._look = True
            if not self._failing:
                self._failing = True
                events.append(
                    SafetyEvent(
                        now_us(),
                        SafetyEventKind.HEARTBEAT_FAILED,
                        f"Heartbeat to the PLC not written ({exc}): its watchdog closes the "
                        f"precursor valves {self._timeout_s:g} s after the last one",
                        Severity.ERROR,
                    )
                )
            return events
        if self._failing:
            self._failing = False
            events.append(
                SafetyEvent(
                    now_us(),
                    SafetyEventKind.HEARTBEAT_RESUMED,
                    "Heartbeat to the PLC written again",
                    Severity.INFO,
                )
            )
        return events

    def sampled(self, values: Mapping[str, float]) -> list[SafetyEvent]:
        """The event a sample's ``tripped`` status means, if it changed (or is tripped
        when first seen: the PLC tripped before this console ran)."""
        if self._tripped_tag is None or self._tripped_tag.key not in values:
            return []
        return self._seen(bool(values[self._tripped_tag.key]))

    def _seen(self, tripped: bool) -> list[SafetyEvent]:
        was, self._tripped = self._tripped, tripped
        if tripped == bool(was):
            return []
        if tripped:
            text = (
                f"PLC watchdog tripped: no heartbeat for {self._timeout_s:g} s, "
                "the PLC closed the precursor valves and holds the heaters"
            )
            return [SafetyEvent(now_us(), SafetyEventKind.WATCHDOG_TRIPPED, text, Severity.ERROR)]
        text = "PLC watchdog cleared: the heartbeat is back; the precursor valves stay closed"
        return [SafetyEvent(now_us(), SafetyEventKind.WATCHDOG_CLEARED, text, Severity.INFO)]
