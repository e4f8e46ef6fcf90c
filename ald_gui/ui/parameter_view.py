"""The tree view of the parameter table and its number editor.

Qt's own delegate paints every cell from the model's roles (fonts, tints, check
boxes for switches); the delegate here only supplies the editor. It never writes: it
reports what the operator entered (``entered``), and the table checks it first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from ald_gui.domain.tags import Tag
from ald_gui.ui.parameter_model import Column, Role

Index = QModelIndex | QPersistentModelIndex

_WIDTHS = {
    Column.PARAMETER: 200,
    Column.VALUE: 170,
    Column.UNIT: 55,
    Column.SETPOINT: 90,
    Column.LIMITS: 95,
    Column.STATUS: 190,
}
# The status (stale, above max, writing…) is shown right after the value and its unit,
# where the eye is, not in a column off the right edge; setpoint and limits follow.
_SHOWN_ORDER = (
    Column.PARAMETER,
    Column.VALUE,
    Column.UNIT,
    Column.STATUS,
    Column.SETPOINT,
    Column.LIMITS,
)


def range_text(tag: Tag) -> str:
    unit = f" {tag.unit}" if tag.unit else ""
    return f"{tag.min:g}..{tag.max:g}{unit}"


class SetpointEditor(QLineEdit):
    """A number for ``target``, its range shown. Only Enter sends it: Esc or clicking
    elsewhere drops it, so a half-typed setpoint never reaches the PLC by accident."""

    def __init__(self, target: Tag, parent: QWidget) -> None:
        super().__init__(parent)
        self.target = target
        self.confirmed = False
        self.setPlaceholderText(range_text(target))
        self.setToolTip(f"{target.key}: {range_text(target)}. Enter writes, Esc cancels.")
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.returnPressed.connect(self._confirm)

    def _confirm(self) -> None:
        self.confirmed = True


class ParameterDelegate(QStyledItemDelegate):
    entered = Signal(str, str)  # the key to write, the text typed (unchecked)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        target = index.data(Role.TARGET)
        assert isinstance(target, Tag), "only cells with a target are editable"
        editor = SetpointEditor(target, parent)
        font = index.data(Qt.ItemDataRole.FontRole)
        if isinstance(font, QFont):
            editor.setFont(font)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, SetpointEditor)
        editor.setText(str(index.data(Qt.ItemDataRole.EditRole)))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, SetpointEditor)
        if editor.confirmed:
            self.entered.emit(editor.target.key, editor.text())


class ParameterView(QTreeView):
    """Components and their tags; a number is edited by double-click or F2, a switch
    by a click on its box or Space. ``font_changed`` tells the model to resize its
    large fonts (a theme may change the view's font)."""

    font_changed = Signal(QFont)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = ParameterDelegate(self)
        self.setItemDelegate(self.delegate)
        # One height for all rows, the model's first row's (see ParameterModel): cheap
        # to update at 5 Hz, and tall enough for a reading's large font.
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setAllColumnsShowFocus(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        header = self.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in _WIDTHS.items():
            header.resizeSection(column, width)
        for place, column in enumerate(_SHOWN_ORDER):
            header.moveSection(header.visualIndex(column), place)
        self.expandAll()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.font_changed.emit(self.font())
