"""What anyone may ask of the engine: typed commands, answered by id.

The window, the HTTP run control and (later) the recipe executor and alarm actions all
ask through ``Engine.submit(command)``, which returns a request id. The poll thread
applies each command between two samples, and its outcome (RunStarted, RunEnded,
RunRefused, WriteConfirmed, WriteFailed) carries that id in ``request_id``, so an
answer can be given to the one who asked and to nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass

from ald_gui.domain.recipe import Recipe
from ald_gui.domain.stream import RunStatus

RequestId = int
"""Made by the engine, unique within one engine's life; None on an outcome nobody
asked for (a run aborted at shutdown, a record replayed from the spool)."""


@dataclass(frozen=True, slots=True)
class StartRun:
    """Start a run; with ``recipe`` (checked against the machine first) the executor
    runs it, and the run ends when the recipe does."""

    operator: str
    note: str = ""
    recipe: Recipe | None = None


@dataclass(frozen=True, slots=True)
class StopRun:
    reason: str = ""
    status: RunStatus = RunStatus.COMPLETED


@dataclass(frozen=True, slots=True)
class PauseRun:
    """Hold the recipe at its next step (or cycle) boundary."""


@dataclass(frozen=True, slots=True)
class ResumeRun:
    """Continue a paused or suspended recipe where it stopped."""


@dataclass(frozen=True, slots=True)
class AbortRun:
    """End the run now: the safe state, verified by read-back, then RunEnded(aborted)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class WriteTag:
    key: str
    value: float | int | bool


# Alarm commands (domain.alarm_engine applies them on the poll thread); ``operator``
# is who did it, journalled with the alarm event. Answered by AlarmCommandDone or
# AlarmCommandRefused (domain.alarms).
@dataclass(frozen=True, slots=True)
class AcknowledgeAlarm:
    alarm: str
    note: str = ""
    operator: str = ""


@dataclass(frozen=True, slots=True)
class ShelveAlarm:
    """Hide ``alarm`` for ``duration_s`` seconds; it returns by itself at the expiry."""

    alarm: str
    duration_s: float
    reason: str
    operator: str = ""


@dataclass(frozen=True, slots=True)
class UnshelveAlarm:
    alarm: str
    operator: str = ""


@dataclass(frozen=True, slots=True)
class RemoveFromService:
    alarm: str
    reason: str
    operator: str = ""


@dataclass(frozen=True, slots=True)
class ReturnToService:
    alarm: str
    operator: str = ""


AlarmCommand = AcknowledgeAlarm | ShelveAlarm | UnshelveAlarm | RemoveFromService | ReturnToService

Command = StartRun | StopRun | PauseRun | ResumeRun | AbortRun | WriteTag | AlarmCommand
