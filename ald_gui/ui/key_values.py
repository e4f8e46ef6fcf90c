"""The key values, pinned above the screens: the few numbers and states an operator
reads from across the room (chamber temperature and pressure, precursor temperatures,
flow, pump, valves), chosen in the configuration ([overview] key_values).

Each is a tile: its name small, its value large (the value's font grows with the
tile; at 1600 × 1000 the digits' cap height is measured by a test), with the same
words for its state as the Overview (STALE, HIGH, LOW; OPEN/CLOSED, ON/OFF) and the
same colours as the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ald_gui.domain.alarms import AlarmBoard, Priority
from ald_gui.ui.alarm_look import look
from ald_gui.ui.alarm_marks import marks
from ald_gui.ui.live_look import Kind, Look, kind_of, look_of
from ald_gui.ui.parameter_rows import ParameterSheet, Row
from ald_gui.ui.theme import named

REFRESH_MS = 250
# Okabe-Ito, as everywhere: the tile's frame says what the words say.
_FRAME = {"ok": "#56B4E9", "on": "#009E73", "trouble": "#D55E00", "stale": "#8c8c8c"}


def tile_name(row: Row, rows: Sequence[Row]) -> str:
    """The component ("Chamber Heater"), with the tag's name when two tiles share it."""
    component = row.tag.component
    shared = sum(r.tag.component == component for r in rows) > 1
    return f"{component} · {row.tag.name.replace('_', ' ')}" if shared else component


class KeyValueTile(QFrame):
    def __init__(self, row: Row, name: str) -> None:
        super().__init__()
        self.row = row
        self.kind = kind_of(row.tag)
        named(self, "keyValueTile")
        self.setFrameShape(QFrame.Shape.NoFrame)  # the state's frame is painted
        self.name = QLabel(name)
        self.value = QLabel("—")
        self.caption = QLabel("")
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for label in (self.name, self.caption):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(0)
        layout.addWidget(self.name)
        layout.addWidget(self.value, 1)
        layout.addWidget(self.caption)
        self.look = Look()
        self._font_px = 24
        self._frame = _FRAME["stale"]
        self.setToolTip(row.tag.key)

    def draw(self, new: Look) -> None:
        if new == self.look:
            return
        resize = len(new.text) != len(self.look.text)
        self.look = new
        if resize:
            self.fit_font()
        mark = f"{look(new.alarm).shape} " if new.alarm is not None else ""
        digits, unit = self._split(new.text)
        # The unit smaller than the digits: the digits are what is read from afar.
        small = f"<span style='font-size:{self._font_px * 45 // 100}px'> {unit}</span>"
        text = mark + digits + (small if unit else "")
        # Stale: grey, in the text itself (a style sheet would re-polish the label).
        self.value.setText(
            f"<span style='color:{_FRAME['stale']}'>{text}</span>" if new.stale else text
        )
        self.caption.setText(new.caption)
        if new.stale:
            state = "stale"
        elif new.caption or new.alarm is not None or (self.kind is Kind.FAULT and new.on):
            state = "trouble"
        elif self.kind is not Kind.VALUE and new.on:
            state = "on"
        else:
            state = "ok"
        if _FRAME[state] != self._frame:  # painted (paintEvent): no style sheet to re-polish
            self._frame = _FRAME[state]
            self.update()

    def fit_font(self) -> None:
        """The largest value font that fits the tile's width for a value of this tag
        (its widest plausible text) and two thirds of the tile's height."""
        tag = self.row.tag
        # A state's widest word; a number as long as it is now (at least "88.8"), so
        # the digits are as large as the tile allows and change size only when the
        # number of digits does (a chamber pumped down from atmosphere).
        digits = self._split(self.look.text)[0]
        widest = {Kind.VALVE: "CLOSED", Kind.FAULT: "FAULT", Kind.SWITCH: "OFF"}.get(
            self.kind, "8" * max(4, len(digits))
        )
        # Room for the unit at its smaller size: about half a digit per character.
        unit_share = 0.5 * (len(tag.unit) + 1) if self.kind is Kind.VALUE and tag.unit else 0
        font = QFont(self.value.font())
        font.setBold(True)
        size = 72
        while size > 12:
            font.setPixelSize(size)
            metrics = QFontMetrics(font)
            width = metrics.horizontalAdvance(widest) + unit_share * metrics.averageCharWidth()
            if width <= self.width() - 16 and metrics.height() <= self.height() * 0.62:
                break
            size -= 2
        self._font_px = size
        self._style_value()

    def _split(self, text: str) -> tuple[str, str]:
        unit = self.row.tag.unit
        if self.kind is Kind.VALUE and unit and text.endswith(" " + unit):
            return text.removesuffix(" " + unit), unit
        return text, ""

    def _style_value(self) -> None:
        # A style sheet, not setFont: the theme's style sheet would override a font. Set
        # only when the size changes (it re-polishes the label).
        style = f"font-size: {self._font_px}px; font-weight: 700;"
        if style != self.value.styleSheet():
            self.value.setStyleSheet(style)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(self._frame), 3))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5), 6, 6)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_font()

    @property
    def cap_height_px(self) -> int:
        """The value's cap height as drawn (the measure of reading from afar)."""
        font = QFont(self.value.font())
        font.setPixelSize(self._font_px)
        font.setBold(True)
        return QFontMetrics(font).capHeight()


class KeyValues(QWidget):
    """One tile per key of ``keys`` that ``sheet`` has, in order."""

    def __init__(self, sheet: ParameterSheet, keys: Sequence[str]) -> None:
        super().__init__()
        self.sheet = sheet
        rows = [sheet.by_key[k] for k in keys if k in sheet.by_key]
        self.tiles = [KeyValueTile(r, tile_name(r, rows)) for r in rows]
        self._alarms: dict[str, Priority] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for tile in self.tiles:
            layout.addWidget(tile, 1)
        self.setMinimumHeight(96)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def show_alarms(self, board: AlarmBoard) -> None:
        self._alarms = marks(board)

    def refresh(self) -> None:
        for tile in self.tiles:
            tile.draw(look_of(self.sheet, tile.row, self._alarms.get(tile.row.tag.key)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: object) -> None:
        self._timer.stop()

    @property
    def ticking(self) -> bool:
        return self._timer.isActive()
