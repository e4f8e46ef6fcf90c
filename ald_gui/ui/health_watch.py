"""What the health strip says about the PLC link, the database and the writer.

Plain Python, no Qt: each watch remembers what the engine last reported (health
figures and events) and turns it into a verdict, a state and the words the operator
reads, and into the list of figures of the details view. Time comes from an
injected monotonic clock, so the staleness rules are tested without waiting.

State rules, most serious first:

- PLC: *fault* when the link is down (a PlcLost event or ``connected`` false);
  *warning* when no health arrived for ``stale_after_s`` (the poll thread may be
  stuck), when the round trip is slow, or for ``late_hold_s`` after missed cycles
  went up; *ok* otherwise.
- Database: *fault* when the schema was refused, the link is lost or the server
  refuses commits (a permission, a missing table: retried, nothing set aside) or a
  commit has been running for ``stuck_commit_s``; *warning* while connecting for the
  first time and when a commit is slow (the last one took, or the one in progress has
  been running for, more than ``slow_commit_s``); *ok* otherwise.
- Writer: *fault* when samples were lost (neither the spool nor memory could hold them;
  until the console restarts), set aside (dead letters) or the local spool cannot be
  written; *warning* when the oldest unsent sample is older than
  ``unsent_warning_s`` or no health arrived for ``stale_after_s``; *ok* otherwise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ald_gui.domain.events import PlcBack, PlcLost
from ald_gui.domain.health import PlcHealth
from ald_gui.store.health import WriterEvent, WriterEventKind, WriterHealth

# A missed cycle now and then (the machine was busy) is not worth an amber light;
# several within the hold time mean the schedule is struggling.
LATE_WARNING_CYCLES = 3
# The spool holds the samples while the database is away: the disk under it filling
# up is the alarm that comes before any loss (1,000 tags at 10 Hz spool ~300 MB/h).
# Said in the words of the system alarm "Disk low" (reference limit: the same 2 GiB),
# which the banner shows as an alarm: one name for one condition.
DISK_WARNING_BYTES = 2 * 2**30
DISK_FAULT_BYTES = 512 * 2**20


def _megabytes(size: int | None) -> str:
    return "unknown" if size is None else f"{size / 2**20:,.0f} MB"


Clock = Callable[[], float]
Figures = list[tuple[str, str]]


class State(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAULT = "fault"


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    text: str  # what the indicator shows, e.g. "PLC ok 1.8 ms"


class Watch(Protocol):
    """What the strip asks of each watch."""

    def on_event(self, event: object) -> bool: ...
    def verdict(self) -> Verdict: ...
    def figures(self) -> Figures: ...
    def last_error(self) -> str: ...


def duration(seconds: float | None) -> str:
    """A duration in the unit an operator reads best: "1.8 ms", "12 s", "3 min 20 s"."""
    if seconds is None:
        return "—"
    if seconds < 1.0:
        return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def count(n: int) -> str:
    return f"{n:,}"


def _with(words: str, seconds: float | None) -> str:
    return words if seconds is None else f"{words} {duration(seconds)}"


def _ago(seconds: float) -> str:
    return f"{seconds:.1f} s ago" if seconds < 10 else f"{duration(seconds)} ago"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "NO"


class PlcWatch:
    """The PLC indicator. ``report`` takes every PlcHealth, ``on_event`` PlcLost and
    PlcBack (so a lost link shows at once, before the next health)."""

    def __init__(
        self,
        clock: Clock,
        *,
        stale_after_s: float = 3.0,
        slow_round_trip_s: float = 0.1,
        late_hold_s: float = 10.0,
    ) -> None:
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._slow_s = slow_round_trip_s
        self._late_hold_s = late_hold_s
        self._since = clock()  # staleness counts from the start until the first health
        self.health: PlcHealth | None = None
        self._connected: bool | None = None
        self._misses: deque[tuple[float, int]] = deque()  # (when, cycles missed then)
        self._lost_reason = ""

    def report(self, health: PlcHealth) -> None:
        now = self._clock()
        if self.health is not None and health.missed_cycles > self.health.missed_cycles:
            self._misses.append((now, health.missed_cycles - self.health.missed_cycles))
        self.health, self._since, self._connected = health, now, health.connected

    def on_event(self, event: object) -> bool:
        """Take a PLC event; whether it was one."""
        if isinstance(event, PlcLost):
            self._connected, self._lost_reason = False, event.reason
        elif isinstance(event, PlcBack):
            self._connected = True
        else:
            return False
        return True

    def _recent_misses(self) -> int:
        """Cycles missed within the last ``late_hold_s``."""
        horizon = self._clock() - self._late_hold_s
        while self._misses and self._misses[0][0] < horizon:
            self._misses.popleft()
        return sum(n for _, n in self._misses)

    def silent_s(self) -> float:
        return self._clock() - self._since

    def verdict(self) -> Verdict:
        h, silent = self.health, self.silent_s()
        if self._connected is False:
            return Verdict(State.FAULT, "PLC LOST")
        if silent > self._stale_after_s:
            return Verdict(State.WARNING, f"PLC no data {duration(silent)}")
        if h is None:
            return Verdict(State.WARNING, "PLC waiting for data")
        if h.round_trip_s is not None and h.round_trip_s > self._slow_s:
            return Verdict(State.WARNING, f"PLC slow {duration(h.round_trip_s)}")
        late = self._recent_misses()
        if late >= LATE_WARNING_CYCLES:
            return Verdict(State.WARNING, f"PLC late · {late} cycles missed")
        return Verdict(State.OK, _with("PLC ok", h.round_trip_s))

    def figures(self) -> Figures:
        h = self.health
        if h is None:
            return [("Connected", "no data yet"), ("Last report", "none yet")]
        failed = f"{count(h.failed_polls)} ({100 * h.failed_polls / max(h.polls, 1):.1f} %)"
        return [
            ("Connected", _yes_no(bool(self._connected))),
            ("Round trip", duration(h.round_trip_s)),
            ("Requests per poll", count(h.requests_per_poll)),
            ("Polls", count(h.polls)),
            ("Failed polls", failed),
            ("Missed cycles", count(h.missed_cycles)),
            ("Jitter (99th percentile)", duration(h.jitter_p99_s)),
            ("Run", h.running_run[:8] + "…" if h.running_run else "none"),
            ("Last report", _ago(self.silent_s())),
        ]

    def last_error(self) -> str:
        """The last error reported, "" if none."""
        h = self.health
        return (h.last_error if h else "") or self._lost_reason


class _WriterReports:
    """What the database and writer watches share: the last WriterHealth and its age."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._since = clock()
        self.health: WriterHealth | None = None

    def report(self, health: WriterHealth) -> None:
        self.health, self._since = health, self._clock()

    def silent_s(self) -> float:
        return self._clock() - self._since


class DatabaseWatch(_WriterReports):
    """The Database indicator, from WriterHealth and the writer's database events."""

    def __init__(
        self, clock: Clock, *, slow_commit_s: float = 1.0, stuck_commit_s: float = 10.0
    ) -> None:
        super().__init__(clock)
        self._slow_s, self._stuck_s = slow_commit_s, stuck_commit_s
        self._connected: bool | None = None
        self._schema_refused = ""
        self._lost = ""
        self._lease_taken = ""

    def report(self, health: WriterHealth) -> None:
        super().report(health)
        self._connected = health.database_connected
        if health.database_connected:
            self._schema_refused = ""

    def on_event(self, event: object) -> bool:
        kind = event.kind if isinstance(event, WriterEvent) else None
        if isinstance(event, WriterEvent) and kind is WriterEventKind.DATABASE_LOST:
            self._connected, self._lost = False, event.message or "lost"
        elif isinstance(event, WriterEvent) and kind is WriterEventKind.LEASE_TAKEN:
            self._lease_taken = event.message or "taken"
        elif isinstance(event, WriterEvent) and kind is WriterEventKind.SCHEMA_REFUSED:
            self._connected, self._schema_refused = False, event.message or "refused"
        elif kind is WriterEventKind.DATABASE_CONNECTED:
            self._connected, self._schema_refused = True, ""
        else:
            return False
        return True

    def verdict(self) -> Verdict:
        h = self.health
        if self._lease_taken or (h is not None and h.lease_taken):
            return Verdict(State.FAULT, "Machine TAKEN by another console")
        if self._schema_refused:
            return Verdict(State.FAULT, "Database schema REFUSED")
        if self._connected is False and (self._lost or (h is not None and h.last_error)):
            return Verdict(State.FAULT, "Database LOST")
        if not self._connected:
            return Verdict(State.WARNING, "Database connecting…")
        if h is not None and h.commit_failures:
            return Verdict(State.FAULT, "Database REFUSES commits")
        busy = h.database_busy_s if h is not None else None
        if busy is not None and busy > self._stuck_s:
            return Verdict(State.FAULT, f"Database STUCK {duration(busy)}")
        if busy is not None and busy > self._slow_s:
            return Verdict(State.WARNING, f"Database slow {duration(busy)}")
        commit = h.last_commit_s if h is not None else None
        if commit is not None and commit > self._slow_s:
            return Verdict(State.WARNING, f"Database slow {duration(commit)}")
        return Verdict(State.OK, _with("Database ok", commit))

    def figures(self) -> Figures:
        h = self.health
        if h is None:
            return [("Connected", "no data yet"), ("Last report", "none yet")]
        p = h.pool
        return [
            ("Connected", _yes_no(bool(self._connected))),
            (
                "Schema version",
                "not checked" if h.schema_version is None else f"{h.schema_version}",
            ),
            ("Last commit took", duration(h.last_commit_s)),
            ("Commit running for", duration(h.database_busy_s)),
            ("Rows per second", f"{h.rows_per_second:,.0f}"),
            ("Connections open", f"{p.size} ({p.available} idle)"),
            ("Waiting for a connection", count(p.waiting)),
            ("Connection errors", count(p.connection_errors)),
            ("Connections lost", count(p.connections_lost)),
            ("Last report", _ago(self.silent_s())),
        ]

    def last_error(self) -> str:
        """The last error reported, "" if none."""
        h = self.health
        return self._schema_refused or (h.last_error if h else "") or self._lost


class WriterWatch(_WriterReports):
    """The Writer indicator: what waits to be committed, and what was set aside."""

    def __init__(
        self, clock: Clock, *, stale_after_s: float = 5.0, unsent_warning_s: float = 10.0
    ) -> None:
        super().__init__(clock)
        self._stale_after_s = stale_after_s
        self._unsent_warning_s = unsent_warning_s
        self._spool_failed = ""
        self._quarantined = 0  # seen as events, before the next health counts them

    def report(self, health: WriterHealth) -> None:
        super().report(health)
        self._quarantined = 0
        if health.queue_depth == 0:
            self._spool_failed = ""  # everything in memory reached the spool again

    def on_event(self, event: object) -> bool:
        kind = event.kind if isinstance(event, WriterEvent) else None
        if isinstance(event, WriterEvent) and kind is WriterEventKind.SPOOL_FAILED:
            self._spool_failed = event.message or "failed"
        elif kind is WriterEventKind.QUARANTINED:
            self._quarantined += 1
        else:
            return False
        return True

    def dead_letters(self) -> int:
        return (self.health.dead_letters if self.health else 0) + self._quarantined

    def verdict(self) -> Verdict:
        h = self.health
        if h is not None and h.samples_lost:
            return Verdict(State.FAULT, f"Writer: {count(h.samples_lost)} samples LOST")
        if self._spool_failed:
            return Verdict(State.FAULT, "Spool FAILED")
        if dead := self.dead_letters():
            letters = "dead letter" if dead == 1 else "dead letters"
            return Verdict(State.FAULT, f"Writer: {count(dead)} {letters}")
        silent = self.silent_s()
        if silent > self._stale_after_s:
            return Verdict(State.WARNING, f"Writer no data {duration(silent)}")
        if h is None:
            return Verdict(State.WARNING, "Writer waiting for data")
        free = h.disk_free_bytes
        if free is not None and free < DISK_WARNING_BYTES:
            state = State.FAULT if free < DISK_FAULT_BYTES else State.WARNING
            return Verdict(state, f"Disk low · {free / 2**20:,.0f} MB free")
        oldest = h.oldest_unsent_age_s
        if oldest is not None and oldest > self._unsent_warning_s:
            return Verdict(
                State.WARNING, f"Spool {count(h.spool_depth)} · oldest {duration(oldest)}"
            )
        return Verdict(State.OK, f"Writer ok · {h.rows_per_second:,.0f} rows/s")

    def figures(self) -> Figures:
        h = self.health
        if h is None:
            return [("Spool", "no data yet"), ("Last report", "none yet")]
        return [
            ("Waiting in memory", count(h.queue_depth)),
            ("Waiting in the spool", count(h.spool_depth)),
            ("Oldest unsent sample", duration(h.oldest_unsent_age_s)),
            ("Rows per second", f"{h.rows_per_second:,.0f}"),
            ("Dead letters", count(self.dead_letters())),
            ("Samples not recorded", count(h.samples_lost)),
            ("Free disk for the spool", _megabytes(h.disk_free_bytes)),
            ("Last report", _ago(self.silent_s())),
        ]

    def last_error(self) -> str:
        """The last error reported, "" if none."""
        h = self.health
        return self._spool_failed or (h.last_error if h else "")
