"""Things that happen, for the event log: plain frozen records with a time stamp.

Run starts and ends are stream items (domain.stream) and reach the log too; these are
the events of the poll thread that are not part of the recorded stream. The database's
events come from the writer (store.health.WriterEvent).

An outcome of a command (domain.commands) carries the ``request_id`` it answers; it is
a correlation, not part of what happened, so it takes no part in comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PlcLost:
    at_us: int
    reason: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class PlcBack:
    at_us: int
    down_s: float
    severity: Severity = Severity.INFO


@dataclass(frozen=True, slots=True)
class WriteConfirmed:
    at_us: int
    tag: str
    requested: float
    readback: float
    severity: Severity = Severity.INFO
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WriteFailed:
    at_us: int
    tag: str
    requested: float
    reason: str
    severity: Severity = Severity.ERROR
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RunRefused:
    at_us: int
    reason: str
    severity: Severity = Severity.WARNING
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ClockStepped:
    """The wall clock jumped by ``step_us`` (positive: ahead) against the stream clock,
    at stream time ``at_us``. A forward step is followed; a backward one is slewed away,
    so recorded times stay in order and their spacing stays real (domain.clock)."""

    at_us: int
    step_us: int
    severity: Severity = Severity.WARNING


@dataclass(frozen=True, slots=True)
class DatabaseServerDied:
    """The embedded database server stopped without being asked (killed, out of
    memory): it is being started again."""

    at_us: int
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class DatabaseServerRestarted:
    at_us: int
    down_s: float
    attempts: int
    severity: Severity = Severity.WARNING


class SafetyEventKind(StrEnum):
    """What keeps the reactor safe when the console is wrong or dead (engine.heartbeat,
    engine.recipe_marker): the heartbeat to the PLC's watchdog, the watchdog itself,
    and a restart after a console died during a recipe."""

    HEARTBEAT_FAILED = "heartbeat failed"  # once per stretch of failed writes
    HEARTBEAT_RESUMED = "heartbeat resumed"
    WATCHDOG_TRIPPED = "watchdog tripped"  # as the PLC reports it
    WATCHDOG_CLEARED = "watchdog cleared"
    RECIPE_INTERRUPTED = "recipe interrupted"  # found at start: the last session died in one


@dataclass(frozen=True, slots=True)
class SafetyEvent:
    """``message`` is the whole text for the operator."""

    at_us: int
    kind: SafetyEventKind
    message: str
    severity: Severity = Severity.WARNING


Event = (
    PlcLost
    | PlcBack
    | WriteConfirmed
    | WriteFailed
    | RunRefused
    | ClockStepped
    | DatabaseServerDied
    | DatabaseServerRestarted
    | SafetyEvent
)
