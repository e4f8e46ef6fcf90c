"""The audit trail's entry of every command the poll thread applies (domain.audit).

The poll thread applies a command synchronously, and every outcome it gives carries the
command's request id (domain.commands), so the journal watches the outcomes while one
command is applied and, once it is, writes one entry saying who asked, what happened,
the value before and after, and the reason given: a write with the last sampled value
and the read-back, a refused write with the refusal, a run's start, stop, abort, pause
and resume, an alarm acknowledged, shelved, unshelved, taken out of or returned to
service. A command that was refused is journalled too ("... refused"). What the
executor does on its own (a recipe's steps) is not: run_steps records it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from typing import assert_never

from ald_gui.domain.accounts import Actor
from ald_gui.domain.alarms import AlarmCommandDone, AlarmCommandRefused
from ald_gui.domain.audit import AuditEntry, AuditRequest
from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    Command,
    PauseRun,
    RemoveFromService,
    RequestId,
    ResumeRun,
    ReturnToService,
    ShelveAlarm,
    StartRun,
    StopRun,
    UnshelveAlarm,
    WriteTag,
)
from ald_gui.domain.events import RunRefused, WriteConfirmed, WriteFailed
from ald_gui.domain.machine import Machine
from ald_gui.domain.recipe_progress import RecipeProgress
from ald_gui.domain.stream import RunEnded, RunStarted

_REFUSALS = (RunRefused, WriteFailed, AlarmCommandRefused)


def shown(value: float | None) -> str:
    """A value as the trail shows it: as the PLC's float32 holds it, "" when not read."""
    if value is None or math.isnan(value):
        return ""
    return format(value, ".7g")


class CommandJournal:
    """Used by the poll thread alone: ``sampled`` after every poll (the values a write's
    "before" is taken from), ``applying`` before a command and ``applied`` after it,
    ``saw`` for every outcome and stream item in between; ``record`` puts the entry
    into the stream."""

    def __init__(self, machine: Machine, record: Callable[[AuditEntry], None]) -> None:
        self._machine = machine
        self._record = record
        self._values: Mapping[str, float] = {}
        self._current: tuple[Command, RequestId | None, Actor] | None = None
        self._outcomes: list[object] = []

    def sampled(self, values: Mapping[str, float]) -> None:
        self._values = values

    def applying(self, command: Command, request_id: RequestId | None, by: Actor) -> None:
        self._current = (command, request_id, by)
        self._outcomes = []

    def saw(self, outcome: object) -> None:
        """An outcome or stream item made while the command is applied: kept if it
        answers the command (carries its request id)."""
        if self._current is None:
            return
        if getattr(outcome, "request_id", None) == self._current[1]:
            self._outcomes.append(outcome)

    def applied(self) -> None:
        """The entry of the command just applied (none if it had no outcome)."""
        if self._current is None:
            return
        command, _, by = self._current
        self._current = None
        before = shown(self._values.get(command.key)) if isinstance(command, WriteTag) else ""
        entry = self._entry(command, before)
        if entry is not None:
            request, run_id = entry
            self._record(self._machine.audit(by.account, str(by.role), request, run_id))

    def _entry(self, command: Command, before: str) -> tuple[AuditRequest, uuid.UUID | None] | None:
        outcomes = self._outcomes
        if not outcomes:
            return None
        refusal = next((o for o in outcomes if isinstance(o, _REFUSALS)), None)
        refused = "" if refusal is None else f"refused: {_why(refusal)}"
        match command:
            case WriteTag(key=key, value=value):
                confirmed = next((o for o in outcomes if isinstance(o, WriteConfirmed)), None)
                if confirmed is not None:
                    # The read-back is the latest value known until the next sample.
                    self._values = {**self._values, key: confirmed.readback}
                    return AuditRequest("write", key, before, shown(confirmed.readback)), None
                return AuditRequest("write refused", key, before, shown(float(value)),
                                    refused.removeprefix("refused: ")), None  # fmt: skip
            case StartRun(note=note, recipe=recipe):
                what = f"recipe {recipe.name} v{recipe.version}" if recipe else "manual run"
                started = next((o for o in outcomes if isinstance(o, RunStarted)), None)
                if started is not None:
                    return AuditRequest("run start", str(started.run.id), "", what, note), None
                return AuditRequest("run start refused", what, "", refused, note), None
            case StopRun(reason=reason) | AbortRun(reason=reason):
                action = "run stop" if isinstance(command, StopRun) else "run abort"
                ended = next((o for o in outcomes if isinstance(o, RunEnded)), None)
                if ended is not None:
                    request = AuditRequest(action, str(ended.run_id), "running",
                                           str(ended.status), reason)  # fmt: skip
                    return request, ended.run_id
                return AuditRequest(f"{action} refused", "", "", refused, reason), None
            case PauseRun() | ResumeRun():
                action = "run pause" if isinstance(command, PauseRun) else "run resume"
                progress = next((o for o in outcomes if isinstance(o, RecipeProgress)), None)
                if progress is not None:
                    return AuditRequest(action, str(progress.run_id), "", progress.message), None
                return AuditRequest(f"{action} refused", "", "", refused), None
            case (
                AcknowledgeAlarm() | ShelveAlarm() | UnshelveAlarm() | RemoveFromService()
                | ReturnToService()
            ):  # fmt: skip
                action, after, reason = _alarm(command)
                if any(isinstance(o, AlarmCommandDone) for o in outcomes):
                    return AuditRequest(action, command.alarm, "", after, reason), None
                return AuditRequest(f"{action} refused", command.alarm, "", refused, reason), None
            case _:
                assert_never(command)


def _why(refusal: object) -> str:
    return str(getattr(refusal, "reason", ""))


def _alarm(
    command: AcknowledgeAlarm | ShelveAlarm | UnshelveAlarm | RemoveFromService | ReturnToService,
) -> tuple[str, str, str]:
    """An alarm command's action, its "after" and its reason."""
    match command:
        case AcknowledgeAlarm(note=note):
            return "alarm acknowledge", "acknowledged", note
        case ShelveAlarm(duration_s=duration, reason=reason):
            return "alarm shelve", f"shelved for {duration:g} s", reason
        case UnshelveAlarm():
            return "alarm unshelve", "unshelved", ""
        case RemoveFromService(reason=reason):
            return "alarm out of service", "out of service", reason
        case ReturnToService():
            return "alarm return to service", "in service", ""
