"""Alarm marks beside values: which tags have an alarm the operator sees, at what
priority, and the priority's shape in its colour as a small picture for a table cell.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from ald_gui.domain.alarms import AlarmBoard, Priority
from ald_gui.ui.alarm_look import look

__all__ = ["mark_icon", "marks"]


def marks(board: AlarmBoard) -> dict[str, Priority]:
    """Each tag with an alarm needing attention, and the highest such priority."""
    worst: dict[str, Priority] = {}
    for a in board.attention():
        tag = a.definition.tag
        if tag and a.definition.priority > worst.get(tag, 0):
            worst[tag] = a.definition.priority
    return worst


@cache
def mark_icon(priority: Priority) -> QIcon:
    """The priority's shape, filled with its colour and outlined in black, so it reads
    on either theme. Needs a QGuiApplication."""
    shape = look(priority)
    pixmap = QPixmap(24, 24)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(22)
    painter.setFont(font)
    painter.setPen(QColor(shape.colour))
    painter.drawText(QRectF(0, 0, 24, 24), Qt.AlignmentFlag.AlignCenter, shape.shape)
    painter.end()
    return QIcon(pixmap)
