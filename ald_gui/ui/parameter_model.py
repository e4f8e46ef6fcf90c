"""The parameter sheet as a Qt item model: components at the top, their tags below.

Texts and levels come from ald_gui.ui.parameter_rows; this adapter adds the looks
(tints, greyed text, larger fonts) as standard item roles, so Qt's own delegate paints
every cell and no Python runs per painted cell beyond ``data``. A switch is a checkable
value cell: checking it asks for a write (``toggle_requested``), it does not change the
model, whose state stays the PLC's. Live updates are dataChanged signals over the
changed rows' value..status cells, never a reset.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics

from ald_gui.domain.alarms import Priority
from ald_gui.domain.tags import DataType, Tag
from ald_gui.ui.alarm_look import look
from ald_gui.ui.alarm_marks import mark_icon
from ald_gui.ui.parameter_rows import Level, ParameterSheet, Row, limits_text

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


class Column(IntEnum):
    PARAMETER = 0
    VALUE = 1
    UNIT = 2
    SETPOINT = 3
    LIMITS = 4
    STATUS = 5


HEADERS = ("Parameter", "Value", "Unit", "Setpoint", "Limits", "Status")


class Role(IntEnum):
    KEY = Qt.ItemDataRole.UserRole + 1  # the row's tag key (None on a component row)
    TARGET = Qt.ItemDataRole.UserRole + 2  # the Tag this cell writes, or None
    LEVEL = Qt.ItemDataRole.UserRole + 3  # the row's Level
    FILTER = Qt.ItemDataRole.UserRole + 4  # the text the filter box searches


# Okabe-Ito colours (safe for colour-blind eyes), as translucent tints that read on the
# dark and the light theme alike. The status text always says the same in words.
_TINT = {
    Level.DONE: QColor(0, 158, 115, 70),  # bluish green
    Level.BUSY: QColor(86, 180, 233, 80),  # sky blue
    Level.WARNING: QColor(230, 159, 0, 95),  # orange
    Level.ALARM: QColor(213, 94, 0, 120),  # vermillion
}
_GREY = QColor(128, 128, 128)
MEASUREMENT_SCALE = 1.6  # readings, bold: read from a step back
SETTING_SCALE = 1.2  # setpoints, settings and switches
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_CHANGING = (Column.VALUE, Column.SETPOINT, Column.STATUS)
_COLUMNS = len(Column)
_D = Qt.ItemDataRole


class ParameterModel(QAbstractItemModel):
    """Two levels: component rows (internal id 0), and tag rows (internal id = the
    component's index + 1). Qt cannot edit it: numbers are written through the table,
    which checks them, and a click on a switch only emits ``toggle_requested``."""

    toggle_requested = Signal(str)  # the key of the switch the operator clicked

    def __init__(self, sheet: ParameterSheet, parent: Any = None) -> None:
        super().__init__(parent)
        self.sheet = sheet
        self._fonts = _fonts_from(QFont())
        self._row_size = _row_size(self._fonts)
        self.alarms: dict[str, Priority] = {}  # tag key -> its worst alarm's priority
        # Whether the logged-in account may write a tag (the table sets it): a cell it
        # may not write offers no editor and no switch.
        self.may_write: Callable[[Tag], bool] = lambda _tag: True
        sheet.refresh()

    def set_base_font(self, base: QFont) -> None:
        """Size the large value fonts from ``base`` (the view's font) and repaint."""
        self._fonts = _fonts_from(base)
        self._row_size = _row_size(self._fonts)
        last = len(self.sheet.components) - 1
        if last < 0:
            return
        self.dataChanged.emit(self.createIndex(0, 0, 0), self.createIndex(last, 0, 0))
        for group, component in enumerate(self.sheet.components):
            self.dataChanged.emit(
                self.createIndex(0, 0, group + 1),
                self.createIndex(len(component.rows) - 1, len(Column) - 1, group + 1),
            )

    # -- structure -----------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = _ROOT) -> QModelIndex:
        # The bounds checked here, not by hasIndex: that would call rowCount and
        # columnCount back in Python, and the view asks for every painted cell.
        if not 0 <= column < _COLUMNS or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row >= len(self.sheet.components):
                return QModelIndex()
            return self.createIndex(row, column, 0)
        group = parent.row()
        if parent.internalId() != 0 or row >= len(self.sheet.components[group].rows):
            return QModelIndex()
        return self.createIndex(row, column, group + 1)

    def sibling(self, row: int, column: int, index: Index) -> QModelIndex:
        # The view asks for each painted row's other cells: one call, not index + parent.
        if not index.isValid() or not 0 <= column < _COLUMNS:
            return QModelIndex()
        if row == index.row():
            return self.createIndex(row, column, index.internalId())
        return super().sibling(row, column, index)

    def parent(self, child: Index = _ROOT) -> QModelIndex:  # type: ignore[override]
        if not child.isValid() or child.internalId() == 0:
            return QModelIndex()
        return self.createIndex(child.internalId() - 1, 0, 0)

    def rowCount(self, parent: Index = _ROOT) -> int:
        if not parent.isValid():
            return len(self.sheet.components)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self.sheet.components[parent.row()].rows)
        return 0

    def columnCount(self, parent: Index = _ROOT) -> int:
        return _COLUMNS

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = _D.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == _D.DisplayRole:
            return HEADERS[section]
        return None

    def row_of(self, index: Index) -> Row | None:
        """The tag row behind ``index``; None for a component row."""
        if not index.isValid() or index.internalId() == 0:
            return None
        return self.sheet.components[index.internalId() - 1].rows[index.row()]

    def index_for(self, key: str, column: Column = Column.VALUE) -> QModelIndex:
        """The index of tag ``key``'s cell in ``column``; KeyError for an unknown tag."""
        row = self.sheet.row(key)
        return self.createIndex(row.position, column, row.group + 1)

    # -- content -------------------------------------------------------------------

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        row = self.row_of(index)
        target = _target(row, index.column()) if row is not None else None
        if target is None or not self.may_write(target):
            return flags
        if target.data_type is not DataType.BOOL:
            return flags | Qt.ItemFlag.ItemIsEditable
        return flags | Qt.ItemFlag.ItemIsUserCheckable

    def data(self, index: Index, role: int = _D.DisplayRole) -> Any:
        row = self.row_of(index)
        column = index.column()
        if row is None:
            return self._component_data(index, role)
        shown = row.shown
        if role == _D.DisplayRole:
            return self._text(row, column)
        if role == _D.FontRole:
            return self._font(row, column)
        if role == _D.BackgroundRole:
            if shown is None:
                return None
            if column == Column.VALUE:
                return _TINT.get(shown.value_level)
            if column == Column.STATUS:
                return _TINT.get(shown.level)
            return None
        if role == _D.ForegroundRole:
            if shown is None or shown.level is Level.OFF:
                return _GREY
            if column == Column.STATUS:  # a plain "ok" steps back; a problem does not
                return _GREY if shown.level is Level.OK else None
            # An old value fades; the status column says why, in words.
            return _GREY if shown.stale and column in (Column.VALUE, Column.SETPOINT) else None
        if role == _D.TextAlignmentRole:
            if column == Column.VALUE and row.tag.data_type is DataType.BOOL:
                return _LEFT  # a state's word, beside its box if it is a switch
            return _RIGHT if column in (Column.VALUE, Column.SETPOINT) else None
        if role == _D.CheckStateRole:
            if column != Column.VALUE or not row.is_toggle or row.value is None:
                return None
            return Qt.CheckState.Checked if row.value != 0.0 else Qt.CheckState.Unchecked
        if role == _D.DecorationRole and column == Column.VALUE:
            priority = self.alarms.get(row.tag.key)
            return mark_icon(priority) if priority is not None else None
        if role == _D.ToolTipRole:
            return self._tooltip(row, column)
        if role == _D.EditRole:
            target = _target(row, column)
            value = self.sheet.by_key[target.key].value if target is not None else None
            return "" if value is None else f"{value:g}"
        return self._custom(row, column, role)

    def setData(self, index: Index, value: Any, role: int = _D.EditRole) -> bool:
        """A click on a switch: ask for the opposite of its live state. The model
        does not change (False); the PLC's read-back will."""
        row = self.row_of(index)
        if role == _D.CheckStateRole and row is not None and row.is_toggle:
            self.toggle_requested.emit(row.tag.key)
        return False

    def _custom(self, row: Row, column: int, role: int) -> Any:
        if role == Role.KEY:
            return row.tag.key
        if role == Role.TARGET:
            return _target(row, column)
        if role == Role.LEVEL:
            return row.shown.level if row.shown else Level.OFF
        if role == Role.FILTER:
            return f"{row.tag.component} {row.tag.name} {row.tag.key}"
        return None

    def _component_data(self, index: Index, role: int) -> Any:
        if not index.isValid() or index.column() != Column.PARAMETER:
            return None
        if role in (_D.DisplayRole, Role.FILTER):
            return self.sheet.components[index.row()].name
        if role == _D.FontRole:
            return self._fonts["component"]
        if role == _D.SizeHintRole:
            # The view has uniform row heights (a varying height costs a layout pass
            # per changed row at every refresh), taken from its first row: a component
            # row, sized here to fit a reading's large font.
            return self._row_size
        return None

    def _font(self, row: Row, column: int) -> QFont | None:
        if column != Column.VALUE:
            return None
        return self._fonts["measurement" if row.is_measurement else "setting"]

    def _text(self, row: Row, column: int) -> str:
        tag, shown = row.tag, row.shown
        if column == Column.PARAMETER:
            return tag.name.replace("_", " ")
        if column == Column.UNIT:
            return tag.unit
        if column == Column.LIMITS:
            return limits_text(tag)
        if shown is None:
            return ""
        if column == Column.VALUE:
            return shown.value
        if column == Column.SETPOINT:
            return shown.setpoint
        priority = self.alarms.get(tag.key)
        return (
            shown.status if priority is None else f"{look(priority).label()} alarm · {shown.status}"
        )

    def _tooltip(self, row: Row, column: int) -> str:
        tag = row.tag
        lines = [f"{tag.component} / {tag.name}  ({tag.key})"]
        if tag.description:
            lines.append(tag.description)
        target = _target(row, column)
        if target is not None and target.data_type is DataType.BOOL:
            lines.append("Click the box to switch it (the PLC's read-back sets it).")
        elif target is not None:
            unit = f" {target.unit}" if target.unit else ""
            lines.append(
                f"Double-click to change {target.key} ({target.min:g}..{target.max:g}{unit})."
            )
        lines.append(f"Status: {row.shown.status if row.shown else ''}")
        return "\n".join(lines)

    # -- updates -------------------------------------------------------------------

    def set_alarms(self, alarms: dict[str, Priority]) -> None:
        """Mark the values of these tags with their alarm's priority (shape and colour
        beside the value, shape and word in the status); unmark the others."""
        changed = set(alarms.items()) ^ set(self.alarms.items())
        self.alarms = dict(alarms)
        for key in {k for k, _ in changed} & self.sheet.by_key.keys():
            value = self.index_for(key, Column.VALUE)
            self.dataChanged.emit(value, value.siblingAtColumn(Column.STATUS))

    def refresh(self) -> int:
        """Bring every row's display up to date; one dataChanged per component over its
        span of changed rows (value..status). The number of rows that changed."""
        changed = self.sheet.refresh()
        spans: dict[int, tuple[int, int]] = {}
        for row in changed:
            first, last = spans.get(row.group, (row.position, row.position))
            spans[row.group] = (min(first, row.position), max(last, row.position))
        for group, (first, last) in spans.items():
            self.dataChanged.emit(
                self.createIndex(first, min(_CHANGING), group + 1),
                self.createIndex(last, max(_CHANGING), group + 1),
            )
        return len(changed)


def _target(row: Row, column: int) -> Tag | None:
    """The tag a cell writes: a writable tag's own value, or a reading's setpoint."""
    if column == Column.VALUE and (row.is_toggle or row.is_number_input):
        return row.tag
    if column == Column.SETPOINT and row.setpoint is not None and row.setpoint.is_number_input:
        return row.setpoint.tag
    return None


def _fonts_from(base: QFont) -> dict[str, QFont]:
    def scaled(factor: float, bold: bool) -> QFont:
        font = QFont(base)
        if base.pointSizeF() > 0:
            font.setPointSizeF(base.pointSizeF() * factor)
        else:
            font.setPixelSize(round(base.pixelSize() * factor))
        font.setBold(bold)
        return font

    return {
        "measurement": scaled(MEASUREMENT_SCALE, bold=True),
        "setting": scaled(SETTING_SCALE, bold=False),
        "component": scaled(1.0, bold=True),
    }


def _row_size(fonts: dict[str, QFont]) -> QSize:
    """A height only: the columns' widths are the view's."""
    return QSize(0, QFontMetrics(fonts["measurement"]).height() + 2)
