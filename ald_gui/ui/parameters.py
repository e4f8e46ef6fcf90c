"""The parameter table: every tag grouped by component, live, with setpoint editors and
switches that check a value before asking the engine to write it.

Batches only record values (cheap at 10 Hz × 110 tags); a timer repaints the changed
cells at REFRESH_MS, which is also when values turn stale. Nothing here blocks: a
write goes out as ``write_requested`` and its outcome comes back as an event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.alarms import AlarmBoard
from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.stream import Batch
from ald_gui.domain.tags import DataType, Tag
from ald_gui.plc.errors import WriteRefused
from ald_gui.plc.writes import check_value
from ald_gui.ui.alarm_marks import marks
from ald_gui.ui.parameter_model import Column, ParameterModel, Role
from ald_gui.ui.parameter_rows import ParameterSheet, with_unit
from ald_gui.ui.parameter_view import ParameterView, range_text
from ald_gui.ui.permission_gate import allowed, refusal_text

REFRESH_MS = 200  # 5 Hz: smooth to the eye, a fraction of the poll rate's work
HINT = "Double-click a value to change it (Enter writes, Esc cancels); click a box to switch."
# Okabe-Ito tints, as in the rows (ald_gui.ui.parameter_model).
_MESSAGE_STYLE = {
    "hint": "",
    "done": "background: rgba(0, 158, 115, 70); padding: 3px;",
    "refused": "background: rgba(230, 159, 0, 95); padding: 3px; font-weight: bold;",
    "failed": "background: rgba(213, 94, 0, 120); padding: 3px; font-weight: bold;",
}

WriteValue = float | int | bool


def write_permission(tag: Tag) -> Permission:
    """A switch is a valve (or a pump, a heater's enable); anything else a setpoint."""
    return (
        Permission.TOGGLE_VALVES if tag.data_type is DataType.BOOL else Permission.WRITE_SETPOINTS
    )


def parse_entry(tag: Tag, text: str) -> float | int:
    """The number the operator typed for ``tag`` (a trailing unit and a decimal comma
    are accepted). Raises WriteRefused naming the tag and its range if it is none."""
    cleaned = "".join(text.split())
    if tag.unit:
        cleaned = cleaned.removesuffix("".join(tag.unit.split()))
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise WriteRefused(
            f"{text.strip()!r} is not a number: {tag.key} takes {range_text(tag)}"
        ) from None
    if tag.data_type.is_integer and value.is_integer():
        return int(value)
    return value


class ParameterTable(QWidget):
    """Live values of ``tags``; ``write_requested(key, value)`` only for values that
    passed ald_gui.plc.writes.check_value (a refused one is shown on its row and in
    the message line, and not emitted). ``clock`` (monotonic seconds) decides
    staleness: no sample for more than 3 × ``poll_interval_s``, or the link lost."""

    write_requested = Signal(str, object)
    limit_crossed = Signal(object)  # a LimitCrossed (ald_gui.ui.parameter_rows)

    def __init__(
        self,
        tags: Sequence[Tag],
        *,
        poll_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sheet = ParameterSheet(tags, poll_interval_s=poll_interval_s, clock=clock)
        self.model = ParameterModel(self.sheet, self)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: parameter, component or key")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.view = ParameterView()
        # The model itself, no filter proxy: a proxy maps every painted cell back to
        # the model through a Python index() call, a third of a full repaint's work
        # when every value turns stale at once. The filter hides rows instead.
        self.view.setModel(self.model)
        self.view.delegate.entered.connect(self._entered)
        self.view.font_changed.connect(self.model.set_base_font)
        self.model.set_base_font(self.view.font())
        self.model.toggle_requested.connect(self._toggled)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._say(HINT, "hint")
        self._actor: Actor | None = CONSOLE  # who may write (permission_gate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # -- fed by the engine ---------------------------------------------------------

    @Slot(object)
    def update_values(self, batch: Batch) -> None:
        """Record a poll; shown at the next refresh."""
        self.sheet.take(batch)

    @Slot(object)
    def show_alarms(self, board: AlarmBoard) -> None:
        """Mark the values that have an alarm the operator sees."""
        self.model.set_alarms(marks(board))

    @Slot(object)
    def on_event(self, event: object) -> None:
        """Show a write's outcome on its row; any other event is not this table's."""
        if isinstance(event, WriteConfirmed) and event.tag in self.sheet.by_key:
            self.sheet.confirmed(event)
            tag = self.sheet.by_key[event.tag].tag
            self._say(f"Wrote {event.tag}: read back {with_unit(tag, event.readback)}.", "done")
        elif isinstance(event, WriteFailed) and event.tag in self.sheet.by_key:
            self.sheet.failed(event)
            tag = self.sheet.by_key[event.tag].tag
            self._say(
                f"Write of {with_unit(tag, event.requested)} to {event.tag} failed: {event.reason}",
                "failed",
            )
        else:
            return
        self.refresh()

    @Slot(bool)
    def set_link_state(self, connected: bool) -> None:
        """Mark every value stale while the PLC is lost (cheap when nothing changed)."""
        if self.sheet.set_link(connected):
            self.refresh()

    # -- the operator's writes -----------------------------------------------------

    def set_actor(self, actor: Actor | None) -> None:
        """The logged-in account: the values it may not write offer no editor."""
        self._actor = actor
        self.model.may_write = lambda tag: allowed(actor, write_permission(tag))
        self.refresh()

    def request_write(self, key: str, value: WriteValue) -> str | None:
        """Check ``value`` for tag ``key`` and emit write_requested if it passes; the
        row shows "writing…" until the engine's WriteConfirmed / WriteFailed. Returns
        None, or the refusal message (also shown on the row and in the message line).
        KeyError for a tag the table does not have."""
        tag = self.sheet.row(key).tag
        if not allowed(self._actor, write_permission(tag)):
            message = refusal_text(self._actor, write_permission(tag))
            self._refuse(key, message)
            return message
        try:
            check_value(tag, value)
        except WriteRefused as exc:
            self._refuse(key, str(exc))
            return str(exc)
        if tag.data_type is DataType.BOOL:
            value = bool(value)
        self.sheet.writing(key, float(value))
        self._say(f"Writing {with_unit(tag, float(value))} to {key}…", "hint")
        self.refresh()
        self.write_requested.emit(key, value)
        return None

    @Slot(str, str)
    def _entered(self, key: str, text: str) -> None:
        try:
            value = parse_entry(self.sheet.row(key).tag, text)
        except WriteRefused as exc:
            self._refuse(key, str(exc))
            return
        self.request_write(key, value)

    def _refuse(self, key: str, message: str) -> None:
        self.sheet.refused(key, message)
        self._say(f"Refused: {message}", "refused")
        self.refresh()

    @Slot(str)
    def _toggled(self, key: str) -> None:
        try:
            value = self.sheet.toggled_value(key)
        except WriteRefused as exc:
            self._say(f"Refused: {exc}", "refused")
            return
        self.request_write(key, value)

    # -- looks ---------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Repaint the cells whose display changed (values, staleness, write notes);
        a reading that left or re-entered its limits is ``limit_crossed`` too."""
        self.model.refresh()
        for crossing in self.sheet.take_crossings():
            self.limit_crossed.emit(crossing)

    def status_text(self, key: str) -> str:
        """What the status cell of tag ``key`` says (as of the last refresh)."""
        return str(self.model.index_for(key, Column.STATUS).data())

    def value_text(self, key: str) -> str:
        """What the value cell of tag ``key`` shows (as of the last refresh)."""
        return str(self.model.index_for(key, Column.VALUE).data())

    def _filter(self, text: str) -> None:
        """Show the tags whose component, name or key holds ``text`` (any case); a
        component's name keeps all its tags."""
        needle = text.strip().casefold()
        for group, component in enumerate(self.sheet.components):
            parent = self.model.index(group, 0)
            whole = needle in component.name.casefold()
            kept = 0
            for position in range(len(component.rows)):
                searched = self.model.index(position, 0, parent).data(Role.FILTER)
                keep = whole or needle in str(searched).casefold()
                self.view.setRowHidden(position, parent, not keep)
                kept += keep
            self.view.setRowHidden(group, QModelIndex(), kept == 0)
        self.view.expandAll()

    def shown_keys(self) -> list[str]:
        """The keys of the tags the filter leaves in view, in the table's order."""
        return [
            row.tag.key
            for group, component in enumerate(self.sheet.components)
            if not self.view.isRowHidden(group, QModelIndex())
            for position, row in enumerate(component.rows)
            if not self.view.isRowHidden(position, self.model.index(group, 0))
        ]

    def _say(self, text: str, kind: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)
        self.message.setProperty("severity", kind)
        self.message.setStyleSheet(_MESSAGE_STYLE[kind])
