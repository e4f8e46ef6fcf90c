"""The alarm list's table model: one row per alarm the operator sees or has set aside
(active, returned unacknowledged, shelved, out of service), from the engine's last
``AlarmBoard``. Sorting by the priority and time columns sorts by their numbers
(``SORT_ROLE``), not by their words.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ald_gui.domain.alarms import AlarmBoard, AlarmState, AlarmStatus
from ald_gui.ui.alarm_look import look, state_words, when

__all__ = ["COLUMNS", "SORT_ROLE", "AlarmTableModel", "listed"]

COLUMNS = ("Priority", "Alarm", "State", "Value", "Raised", "Guidance")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_SET_ASIDE = (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
_Index = QModelIndex | QPersistentModelIndex


def listed(board: AlarmBoard) -> list[AlarmStatus]:
    """The alarms the list shows, highest priority and newest first."""
    aside = [a for a in board.alarms if a.state in _SET_ASIDE]
    aside.sort(key=lambda a: (-a.definition.priority, a.id))
    return [*board.attention(), *aside]


class AlarmTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[AlarmStatus] = []

    def show_board(self, board: AlarmBoard) -> None:
        self.beginResetModel()
        self._rows = listed(board)
        self.endResetModel()

    def alarm(self, row: int) -> AlarmStatus:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(a, column)
        if role == SORT_ROLE:
            if column == "Priority":
                return int(a.definition.priority)
            if column == "Raised":
                return a.raised_at_us or 0
            return self._text(a, column)
        if column == "Priority" and role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(look(a.definition.priority).colour))
        if column == "Priority" and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(look(a.definition.priority).text_colour))
        if role == Qt.ItemDataRole.ToolTipRole:
            return a.definition.guidance or None
        return None

    @staticmethod
    def _text(a: AlarmStatus, column: str) -> str:
        d = a.definition
        match column:
            case "Priority":
                return look(d.priority).label()
            case "Alarm":
                return d.name
            case "State":
                return state_words(a)
            case "Value":
                return "" if a.value is None else f"{a.value:g}"
            case "Raised":
                return when(a.raised_at_us)
            case _:
                return d.guidance
