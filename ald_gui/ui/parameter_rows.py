"""What the parameter table shows, as plain Python: one row per tag, grouped by component.

Each row's texts (value, setpoint, limits, status) and its alarm level are decided
here, without Qt, so the rules are testable without widgets; ald_gui.ui.parameter_model
adapts this sheet to Qt's item model. Time comes from an injected clock (monotonic
seconds), so staleness is tested without waiting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.stream import Batch, now_us
from ald_gui.domain.tags import DataType, Tag
from ald_gui.plc.errors import WriteRefused

STALE_AFTER_POLLS = 3
# A confirmation is news for a while; a failure or a refusal stays until the next write.
CONFIRMATION_SHOWN_S = 10.0
NO_VALUE = "—"


class Level(IntEnum):
    """How much a row needs the operator's eye; the worst condition of a row wins."""

    OFF = 0  # not wired, or no value yet
    OK = 1
    DONE = 2  # a write confirmed
    BUSY = 3  # a write under way
    WARNING = 4  # stale value, refused input
    ALARM = 5  # out of range, failed write, fault reported


class NoteKind(Enum):
    WRITING = "writing"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class WriteNote:
    """The last thing that happened to a write of this row's tag."""

    kind: NoteKind
    text: str
    at: float


_NOTE_LEVEL = {
    NoteKind.WRITING: Level.BUSY,
    NoteKind.CONFIRMED: Level.DONE,
    NoteKind.FAILED: Level.ALARM,
    NoteKind.REFUSED: Level.WARNING,
}
# How long a write's fate stays on its row: a confirmation briefly; a refused entry
# (never sent) and a failed write long enough to read, then the row shows the present
# again (a failed write also goes when the PLC comes back). The event log keeps them.
REFUSAL_SHOWN_S = 30.0
_NOTE_SHOWN_S = {
    NoteKind.CONFIRMED: CONFIRMATION_SHOWN_S,
    NoteKind.REFUSED: REFUSAL_SHOWN_S,
    NoteKind.FAILED: REFUSAL_SHOWN_S,
}


@dataclass(frozen=True, slots=True)
class Status:
    text: str
    level: Level
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Display:
    """What a row shows, as last worked out by ParameterSheet.refresh."""

    value: str
    setpoint: str
    status: str
    level: Level
    stale: bool
    # The reading's own level (stale, out of range): what colours the value. A write's
    # fate colours the status only, so the value's colour is its current state.
    value_level: Level = Level.OK


@dataclass(eq=False, slots=True)
class Row:
    """One tag: its latest value and when it arrived (clock seconds)."""

    tag: Tag
    group: int  # index of its component in ParameterSheet.components
    position: int  # index among its component's rows
    setpoint: Row | None = None  # the *_set sibling of a *_read tag, if any
    value: float | None = None
    sampled_at: float | None = None
    note: WriteNote | None = None
    shown: Display | None = None
    beyond: str = ""  # "above max" / "below min" while the reading is out of its limits

    @property
    def is_toggle(self) -> bool:
        return self.tag.data_type is DataType.BOOL and self.tag.writable and self.tag.polled

    @property
    def is_number_input(self) -> bool:
        return self.tag.data_type is not DataType.BOOL and self.tag.writable and self.tag.polled

    @property
    def is_measurement(self) -> bool:
        return self.tag.data_type is not DataType.BOOL and not self.tag.writable


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    rows: tuple[Row, ...]


def format_value(tag: Tag, value: float | None) -> str:
    """The value as the operator reads it: words for switches, sensible decimals."""
    if value is None or math.isnan(value):
        return NO_VALUE
    if tag.data_type is DataType.BOOL:
        on = value != 0.0
        if tag.name.endswith("valve_state"):
            return "OPEN" if on else "CLOSED"
        if "fault" in tag.name:
            return "FAULT" if on else "no fault"
        return "ON" if on else "OFF"
    if tag.data_type.is_integer:
        return f"{value:.0f}"
    span = tag.max - tag.min
    if 0.0 < abs(value) < 1.0:
        return f"{value:.3g}"
    decimals = 1 if span >= 100 else 2 if span >= 1 else 3
    if abs(value) < 10_000:
        return f"{value:.{decimals}f}"
    # Thin-space thousands: 100 000 Pa reads at a glance, and is no decimal comma; a
    # tenth of a unit at that size is noise.
    return f"{value:,.0f}".replace(",", "\u2009")


def with_unit(tag: Tag, value: float | None) -> str:
    text = format_value(tag, value)
    return f"{text} {tag.unit}" if tag.unit and tag.data_type is not DataType.BOOL else text


def limits_text(tag: Tag) -> str:
    return "" if tag.data_type is DataType.BOOL else f"{tag.min:g}..{tag.max:g}"


@dataclass(frozen=True, slots=True)
class LimitCrossed:
    """A reading left its tag's limits ("above max", "below min") or came back
    ("back within")."""

    at_us: int
    tag: str
    where: str
    value: float | None


class ParameterSheet:
    """The rows of every tag, in configuration order grouped by component.

    Feeding it (``take``, ``set_link``, the write notes) only records facts; ``refresh``
    works out what each row shows and returns the rows whose display changed, so a
    view repaints only those, at its own pace.
    """

    def __init__(
        self, tags: Sequence[Tag], *, poll_interval_s: float, clock: Callable[[], float]
    ) -> None:
        if not poll_interval_s > 0:
            raise ValueError(f"poll_interval_s must be positive, not {poll_interval_s!r}")
        self.stale_after_s = STALE_AFTER_POLLS * poll_interval_s
        self._clock = clock
        self.connected = True
        self.crossings: list[LimitCrossed] = []
        grouped: dict[str, list[Tag]] = {}
        for tag in tags:
            grouped.setdefault(tag.component, []).append(tag)
        self.rows: list[Row] = []
        components = []
        for group, (name, members) in enumerate(grouped.items()):
            rows = tuple(Row(tag, group, i) for i, tag in enumerate(members))
            components.append(Component(name, rows))
            self.rows.extend(rows)
        self.components: tuple[Component, ...] = tuple(components)
        self.by_key = {row.tag.key: row for row in self.rows}
        for row in self.rows:
            if row.tag.name.endswith("_read"):
                row.setpoint = self.by_key.get(row.tag.key.removesuffix("_read") + "_set")

    def row(self, key: str) -> Row:
        """The row of tag ``key``; KeyError naming it if the table has no such tag."""
        try:
            return self.by_key[key]
        except KeyError:
            raise KeyError(f"no tag {key!r} in the parameter table") from None

    # -- facts ---------------------------------------------------------------------

    def take(self, batch: Batch) -> None:
        """Record a poll's values as fresh now. Cheap: no formatting happens here."""
        now = self._clock()
        rows = self.by_key
        for key, value in batch.values.items():
            row = rows.get(key)
            if row is not None:
                row.value = value
                row.sampled_at = now

    def set_link(self, connected: bool) -> bool:
        """Record whether the PLC answers; True if that changed."""
        changed = connected != self.connected
        self.connected = connected
        if changed and connected:  # a write that failed while the link was down is past
            for row in self.rows:
                if row.note is not None and row.note.kind is NoteKind.FAILED:
                    row.note = None
        return changed

    def writing(self, key: str, value: float) -> None:
        row = self.row(key)
        row.note = WriteNote(
            NoteKind.WRITING, f"writing {with_unit(row.tag, value)}…", self._clock()
        )

    def refused(self, key: str, message: str) -> None:
        self.row(key).note = WriteNote(NoteKind.REFUSED, f"✕ refused: {message}", self._clock())

    def confirmed(self, event: WriteConfirmed) -> None:
        row = self.by_key.get(event.tag)
        if row is None:
            return
        now = self._clock()
        # The read-back is a real reading of the PLC, as fresh as a poll.
        row.value, row.sampled_at = event.readback, now
        row.note = WriteNote(
            NoteKind.CONFIRMED, f"✓ read back {with_unit(row.tag, event.readback)}", now
        )

    def failed(self, event: WriteFailed) -> None:
        row = self.by_key.get(event.tag)
        if row is None:
            return
        row.note = WriteNote(
            NoteKind.FAILED,
            f"✕ write of {with_unit(row.tag, event.requested)} failed: {event.reason}",
            self._clock(),
        )

    def toggled_value(self, key: str) -> bool:
        """The state a toggle of switch ``key`` asks for: the opposite of the live one.

        Raises WriteRefused when that is unknown (no value yet) or a write of it is
        still under way (the live value is about to change)."""
        row = self.row(key)
        if row.note is not None and row.note.kind is NoteKind.WRITING:
            raise WriteRefused(f"a write of {key} is under way: wait for its read-back")
        if row.value is None:
            raise WriteRefused(f"the state of {key} is not known yet: no value from the PLC")
        return row.value == 0.0

    # -- what is shown -------------------------------------------------------------

    def status(self, row: Row, now: float | None = None, *, notes: bool = True) -> Status:
        """The row's conditions in words, with the worst of their levels; ``now``
        defaults to the clock. ``notes=False``: the reading's own conditions only
        (stale, out of range, fault), without what became of a write."""
        tag = row.tag
        if not tag.polled:
            return Status("not wired", Level.OFF)
        parts: list[Status] = []
        now = self._clock() if now is None else now
        if row.value is None:
            parts.append(Status("no value yet", Level.OFF))
        else:
            if not self.connected:
                parts.append(Status("⚠ stale: PLC link lost", Level.WARNING, stale=True))
            elif row.sampled_at is not None and now - row.sampled_at > self.stale_after_s:
                age = now - row.sampled_at
                parts.append(
                    Status(f"⚠ stale: no sample for {age:.0f} s", Level.WARNING, stale=True)
                )
            if tag.data_type is DataType.BOOL:
                if "fault" in tag.name and row.value != 0.0:
                    parts.append(Status("▲ fault reported", Level.ALARM))
            elif row.value > tag.max:
                parts.append(Status(f"▲ above max {with_unit(tag, tag.max)}", Level.ALARM))
            elif row.value < tag.min:
                parts.append(Status(f"▼ below min {with_unit(tag, tag.min)}", Level.ALARM))
        setpoint_note = row.setpoint.note if row.setpoint is not None else None
        for note, prefix in ((row.note, ""), (setpoint_note, "setpoint ")):
            if note is not None and notes:
                parts.append(Status(prefix + note.text, _NOTE_LEVEL[note.kind]))
        if not parts:
            return Status("ok", Level.OK)
        return Status(
            " · ".join(p.text for p in parts),
            max(p.level for p in parts),
            stale=any(p.stale for p in parts),
        )

    def value_text(self, row: Row) -> str:
        return format_value(row.tag, row.value) if row.tag.polled else NO_VALUE

    def setpoint_text(self, row: Row) -> str:
        sp = row.setpoint
        return "" if sp is None else self.value_text(sp)

    def refresh(self) -> list[Row]:
        """Work out every row's display now; the rows whose display changed since the
        last refresh (in sheet order). Expires write notes older than their
        _NOTE_SHOWN_S."""
        now = self._clock()
        changed = []
        for row in self.rows:
            note = row.note
            if note is not None and now - note.at > _NOTE_SHOWN_S.get(note.kind, math.inf):
                row.note = None
            status = self.status(row, now)
            noted = row.note is not None or (row.setpoint is not None and row.setpoint.note)
            shown = Display(
                self.value_text(row),
                self.setpoint_text(row),
                status.text,
                status.level,
                status.stale,
                # Without a note the reading's own level is the status's: not worked
                # out twice for every row (every row changes when the PLC is lost).
                self.status(row, now, notes=False).level if noted else status.level,
            )
            if shown != row.shown:
                row.shown = shown
                changed.append(row)
            self._follow_limits(row)
        return changed

    def _follow_limits(self, row: Row) -> None:
        """Note when a live reading leaves or re-enters its tag's limits."""
        tag, value = row.tag, row.value
        beyond = ""
        if value is not None and self.connected and tag.data_type is not DataType.BOOL:
            beyond = "above max" if value > tag.max else "below min" if value < tag.min else ""
        if beyond != row.beyond:
            self.crossings.append(LimitCrossed(now_us(), tag.key, beyond or "back within", value))
            row.beyond = beyond

    def take_crossings(self) -> list[LimitCrossed]:
        """The limit crossings since the last call (for the event log)."""
        taken, self.crossings = self.crossings, []
        return taken
