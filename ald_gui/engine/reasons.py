"""Which commands need a reason for the audit trail (``[accounts] reason_required_for``),
checked in ``Engine.submit`` for the window and the control port alike: a command that
lacks one is refused before it is sent, naming what needs it and the setting."""

from __future__ import annotations

from collections.abc import Collection

from ald_gui.config.accounts import ReasonFor
from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    Command,
    RemoveFromService,
    ShelveAlarm,
    StopRun,
)
from ald_gui.domain.stream import RunStatus


def _given(command: Command) -> tuple[ReasonFor, str, str] | None:
    """The setting that covers ``command``, what it does in words, and the reason given;
    None for a command that carries no reason (a write, a start)."""
    match command:
        case AbortRun(reason=reason) | StopRun(status=RunStatus.ABORTED, reason=reason):
            return "abort", "abort a run", reason
        case StopRun(reason=reason):
            return "stop", "stop a run", reason
        case ShelveAlarm(reason=reason):
            return "shelve", "shelve an alarm", reason
        case RemoveFromService(reason=reason):
            return "out of service", "take an alarm out of service", reason
        case AcknowledgeAlarm(note=note):
            return "acknowledge", "acknowledge an alarm", note
    return None


def missing_reason(command: Command, required: Collection[ReasonFor]) -> str | None:
    """Why ``command`` is refused for want of a reason, or None when it has one or needs
    none."""
    given = _given(command)
    if given is None:
        return None
    setting, what, reason = given
    if setting not in required or reason.strip():
        return None
    return (
        f"a reason is required to {what} ([accounts] reason_required_for includes "
        f"{setting!r}): say why"
    )
