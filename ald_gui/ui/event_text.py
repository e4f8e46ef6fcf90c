"""What the event log says about each thing that happens, in the operator's words.

Plain Python, no Qt: ``describe`` turns a run start or end, an event of
``domain.events`` or a writer event into an ``Entry`` (time, severity, category,
message). Tags, when given, add units and on/off words to written values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ald_gui.domain import events as ev
from ald_gui.domain.alarms import AlarmCommandRefused, AlarmEvent, AlarmEventKind, Priority
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.events import Severity
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import Gap, RunEnded, RunStarted, RunStatus
from ald_gui.domain.tags import DataType, Tag
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.ui.parameter_rows import LimitCrossed

__all__ = ["Category", "Denied", "Entry", "Severity", "describe"]


class Category(StrEnum):
    RUN = "Run"
    PLC = "PLC"
    DATABASE = "Database"
    WRITE = "Write"
    ERROR = "Error"
    ALARM = "Alarm"
    ACCOUNT = "Account"


@dataclass(frozen=True, slots=True)
class Denied:
    """A command the engine refused at once for the asking account's permission
    (domain.accounts.PermissionDenied): logged in its words, never as a traceback."""

    at_us: int
    reason: str


@dataclass(frozen=True, slots=True)
class Entry:
    at_us: int  # µs since the epoch, UTC
    severity: Severity
    category: Category
    message: str

    @property
    def time_text(self) -> str:
        """Local time of day, to the millisecond: "14:03:07.412"."""
        return datetime.fromtimestamp(self.at_us / 1e6).strftime("%H:%M:%S.%f")[:-3]

    @property
    def date_time_text(self) -> str:
        return datetime.fromtimestamp(self.at_us / 1e6).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


_RUN_END_SEVERITY = {
    RunStatus.COMPLETED: Severity.INFO,
    RunStatus.ABORTED: Severity.WARNING,
    RunStatus.FAILED: Severity.ERROR,
}

# Writer events carry no severity of their own.
_WRITER = {
    WriterEventKind.DATABASE_CONNECTED: (Severity.INFO, Category.DATABASE, "Database connected"),
    WriterEventKind.DATABASE_LOST: (
        Severity.ERROR,
        Category.DATABASE,
        "Database lost, samples wait in the local spool",
    ),
    WriterEventKind.SCHEMA_REFUSED: (
        Severity.ERROR,
        Category.DATABASE,
        "Database schema refused, nothing is committed",
    ),
    WriterEventKind.QUARANTINED: (
        Severity.ERROR,
        Category.DATABASE,
        "Data set aside as a dead letter",
    ),
    WriterEventKind.COMMIT_REFUSED: (
        Severity.ERROR,
        Category.DATABASE,
        "Database refuses commits, samples wait in the local spool",
    ),
    WriterEventKind.SPOOL_FAILED: (Severity.ERROR, Category.ERROR, "Local spool cannot be written"),
    WriterEventKind.SAMPLES_LOST: (Severity.ERROR, Category.ERROR, "Samples not recorded"),
    WriterEventKind.RUN_RECOVERED: (Severity.WARNING, Category.RUN, "Run recovered"),
    WriterEventKind.LEASE_TAKEN: (
        Severity.ERROR,
        Category.DATABASE,
        "Not recording: another console records this machine",
    ),
}


def _run(run_id: object) -> str:
    return f"Run {str(run_id)[:8]}…"


def _value(key: str, value: float, tags: Mapping[str, Tag]) -> str:
    tag = tags.get(key)
    if tag is not None and tag.data_type is DataType.BOOL:
        if tag.name.endswith("valve_state"):  # one vocabulary for valves, as on screen
            return "OPEN" if value else "CLOSED"
        return "ON" if value else "OFF"
    unit = f" {tag.unit}" if tag is not None and tag.unit else ""
    return f"{value:g}{unit}"


def _write_confirmed(event: ev.WriteConfirmed, tags: Mapping[str, Tag]) -> str:
    tag = tags.get(event.tag)
    if tag is not None and tag.name.endswith("valve_state"):
        what = "Valve"
    else:
        what = "Switch" if tag is not None and tag.data_type is DataType.BOOL else "Setpoint"
    requested = _value(event.tag, event.requested, tags)
    text = f"{what} {event.tag} = {requested} confirmed"
    readback = _value(event.tag, event.readback, tags)
    return text if readback == requested else f"{text} (reads back {readback})"


@dataclass(frozen=True, slots=True)
class WriteAsked:
    """What the window knew when it asked for a write: the value before, and who."""

    before: float | None
    who: str


def with_asked(entry: Entry, event: object, asked: WriteAsked, tags: Mapping[str, Tag]) -> Entry:
    """``entry`` for a write's outcome, saying the value before and who asked:
    "Setpoint … = 180 °C confirmed (was 120 °C) · by alice"."""
    key = getattr(event, "tag", "")
    was = "no value" if asked.before is None else _value(key, asked.before, tags)
    who = f" · by {asked.who}" if asked.who else ""
    return Entry(entry.at_us, entry.severity, entry.category, f"{entry.message} (was {was}){who}")


def _clock_stepped(step_us: int) -> str:
    size = f"{abs(step_us) / 1e6:.3f} s"
    if step_us > 0:
        return f"Wall clock stepped ahead by {size}: sample times jump ahead with it"
    return (
        f"Wall clock stepped back by {size}: sample times go on at real elapsed time "
        "and draw level with the wall clock slowly, never reused"
    )


def _alarm(e: AlarmEvent, names: Mapping[str, str]) -> tuple[Severity, Category, str]:
    """A journal entry: the priority's word, the alarm's name, what happened (who, why)."""
    severity = Severity.INFO
    if e.event is AlarmEventKind.RAISED:
        severity = Severity.ERROR if e.priority >= Priority.HIGH else Severity.WARNING
    value = f" at {e.value:.4g}" if e.value is not None and e.event is AlarmEventKind.RAISED else ""
    who = f" by {e.operator}" if e.operator else ""
    note = f": {e.note}" if e.note else ""
    name = names.get(e.alarm, e.alarm)
    words = e.event.value.replace("_", " ")
    return severity, Category.ALARM, f"{e.priority.word.upper()} {name} {words}{value}{who}{note}"


def _message(
    event: object, tags: Mapping[str, Tag], alarm_names: Mapping[str, str]
) -> tuple[Severity, Category, str] | None:
    match event:
        case AlarmEvent():
            return _alarm(event, alarm_names)
        case AlarmCommandRefused(alarm=alarm, reason=reason):
            name = alarm_names.get(alarm, alarm)
            return Severity.WARNING, Category.ALARM, f"Not done for {name}: {reason}"
        case RunStarted(run=run):
            extra = "".join(
                f" · {x}" for x in (run.recipe and f"recipe {run.recipe}", run.note) if x
            )
            return Severity.INFO, Category.RUN, f"{_run(run.id)} started by {run.operator}{extra}"
        case RunEnded(run_id=run_id, status=status, reason=reason):
            why = f": {reason}" if reason else ""
            return _RUN_END_SEVERITY[status], Category.RUN, f"{_run(run_id)} {status}{why}"
        case Denied(reason=reason):
            return Severity.WARNING, Category.ACCOUNT, f"Not allowed: {reason}"
        case LimitCrossed(tag=key, where=where, value=reading):
            shown = _value(key, math.nan if reading is None else reading, tags)
            tag = tags.get(key)
            limit = (
                ""
                if tag is None or where == "back within"
                else (f" {_value(key, tag.max if where == 'above max' else tag.min, tags)}")
            )
            back = where == "back within"
            text = f"{key} {shown}: {where}{limit}" + (" its limits" if back else "")
            return (Severity.INFO if back else Severity.WARNING), Category.PLC, text
        case Gap(reason=reason):  # a PLC outage, as recorded
            return Severity.ERROR, Category.PLC, f"PLC lost: {reason}"
        case Refusal(reason=reason, tag=key, value=asked):
            shown = _value(key, math.nan if asked is None else asked, tags)
            return Severity.WARNING, Category.WRITE, f"Write refused: {key} = {shown} — {reason}"
        case AuditEntry():
            return _audited(event, tags)
        case ev.RunRefused(reason=reason, severity=severity):
            return severity, Category.RUN, f"Run refused: {reason}"
        case ev.PlcLost(reason=reason, severity=severity):
            return severity, Category.PLC, f"PLC lost: {reason}"
        case ev.PlcBack(down_s=down_s, severity=severity):
            return severity, Category.PLC, f"PLC back after {down_s:.1f} s"
        case ev.WriteConfirmed(severity=severity):
            return severity, Category.WRITE, _write_confirmed(event, tags)
        case ev.WriteFailed(tag=key, requested=requested, reason=reason, severity=severity):
            value = _value(key, requested, tags)
            return severity, Category.WRITE, f"Write failed: {key} = {value} — {reason}"
        case ev.ClockStepped(step_us=step, severity=severity):
            return severity, Category.PLC, _clock_stepped(step)
        case ev.DatabaseServerDied(severity=severity):
            return severity, Category.DATABASE, "Database server stopped unexpectedly, restarting"
        case ev.DatabaseServerRestarted(down_s=down_s, attempts=attempts, severity=severity):
            tries = f", {attempts} attempts" if attempts > 1 else ""
            return (
                severity,
                Category.DATABASE,
                f"Database server restarted after {down_s:.1f} s{tries}",
            )
        case ev.SafetyEvent(message=message, severity=severity):
            return severity, Category.PLC, message
        case RecipeProgress(recipe=recipe, state=state, step_path=path, message=message):
            where = f" at {path}" if path and state is not ExecutorState.RUNNING else ""
            why = f": {message}" if message else ""
            return event.severity, Category.RUN, f"Recipe {recipe} {state}{where}{why}"
        case WriterEvent(kind=kind, message=message):
            severity, category, words = _WRITER[kind]
            return severity, category, f"{words}: {message}" if message else words
    return None


def _audited(entry: AuditEntry, tags: Mapping[str, Tag]) -> tuple[Severity, Category, str]:
    """An action from the audit trail: what, to what, old → new, why, who."""

    def shown(text: str) -> str:  # a tag's value in its words (OPEN, 175 °C)
        try:
            return _value(entry.object, float(text), tags) if entry.object in tags else text
        except ValueError:
            return text

    before, after = shown(entry.before), shown(entry.after)
    change = f": {before or '—'} → {after}" if before or after else ""
    why = f" ({entry.reason})" if entry.reason else ""
    category = Category.WRITE if entry.action.startswith("write") else Category.ACCOUNT
    refused = entry.action.endswith(("refused", "failed", "denied", "lockout"))
    severity = Severity.WARNING if refused else Severity.INFO
    text = f"{entry.action.capitalize()} {entry.object}{change}{why} · by {entry.account}"
    return severity, category, text


def _at_us(event: object) -> int | None:
    match event:
        case RunStarted(run=run):
            return run.started_at_us
        case RunEnded(ended_at_us=ended):
            return ended
    stamp = getattr(event, "at_us", None)
    return stamp if isinstance(stamp, int) else None


def describe(
    event: object,
    tags: Mapping[str, Tag] | None = None,
    alarm_names: Mapping[str, str] | None = None,
) -> Entry:
    """The log entry for ``event``. ``tags`` (by key) give written values their unit;
    ``alarm_names`` (by alarm id) name the alarms of journal entries.

    Something this module does not know is still logged, as an Error entry naming
    its type, rather than lost; without a time stamp it raises TypeError."""
    at_us = _at_us(event)
    if at_us is None:
        raise TypeError(f"cannot log {type(event).__name__}: it has no time stamp (at_us)")
    found = _message(event, tags or {}, alarm_names or {})
    if found is None:
        severity = getattr(event, "severity", Severity.ERROR)
        found = Severity(severity), Category.ERROR, f"{type(event).__name__}: {event}"
    severity, category, message = found
    # One line per entry: database errors arrive with newlines and indents.
    return Entry(at_us, severity, category, " ".join(message.split()))
