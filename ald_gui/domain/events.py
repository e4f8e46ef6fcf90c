"""Things that happen, for the event log: plain frozen records with a time stamp.

Run starts and ends are stream items (domain.stream) and reach the log too; these are
the events that are not part of the recorded stream.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class WriteFailed:
    at_us: int
    tag: str
    requested: float
    reason: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class RunRefused:
    at_us: int
    reason: str
    severity: Severity = Severity.WARNING


@dataclass(frozen=True, slots=True)
class DatabaseLost:
    at_us: int
    reason: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class DatabaseBack:
    at_us: int
    severity: Severity = Severity.INFO


@dataclass(frozen=True, slots=True)
class DeadLettered:
    """A group the database rejected for good, set aside so the stream goes on."""

    at_us: int
    items: int
    reason: str
    severity: Severity = Severity.ERROR


Event = (
    PlcLost
    | PlcBack
    | WriteConfirmed
    | WriteFailed
    | RunRefused
    | DatabaseLost
    | DatabaseBack
    | DeadLettered
)
