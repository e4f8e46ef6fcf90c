"""The Overview: the reactor drawn as a process diagram, with its values and states live.

The picture is the configuration's SVG ([overview] picture); each element whose id is a
tag key is drawn live in its place (ald_gui.ui.overview_spots). The values come from
the parameter table's sheet, so the Overview and the table never disagree about a value
or about its being stale. A click on a valve, a switch or a setpoint asks first, then
goes through the same checked write path as the table (``write_requested`` only for a
value ald_gui.plc.writes.check_value passed; the engine checks again).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QResizeEvent, QShowEvent
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QInputDialog,
    QLabel,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.accounts import Actor
from ald_gui.domain.alarms import AlarmBoard, Priority
from ald_gui.domain.tags import Tag
from ald_gui.plc.errors import WriteRefused
from ald_gui.plc.writes import check_value
from ald_gui.ui.alarm_marks import marks
from ald_gui.ui.live_look import Kind, kind_of, look_of, words
from ald_gui.ui.overview_spots import Spot
from ald_gui.ui.parameter_rows import ParameterSheet, with_unit
from ald_gui.ui.parameters import parse_entry, write_permission
from ald_gui.ui.permission_gate import allowed, refusal_text
from ald_gui.ui.process_panel import Confirm

REFRESH_MS = 250  # what the eye needs; nothing is drawn while the Overview is hidden
BACKDROP = QColor("#f6f8fa")  # the picture is drawn for a light page, on either theme

# Asks the operator for a new value: (parent, title, label, current text) -> text or None.
AskValue = Callable[[QWidget, str, str, str], str | None]


def ask_value(parent: QWidget, title: str, label: str, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label, text=current)
    return text if ok else None


class _Picture(QGraphicsItem):
    """The static drawing, rendered by QtSvg (no QtSvgWidgets needed)."""

    def __init__(self, renderer: QSvgRenderer) -> None:
        super().__init__()
        self._renderer = renderer
        self.setZValue(-1)
        # Rendering the SVG takes ~20 ms: once per size, then a bitmap, so a spot that
        # changes repaints its own patch only.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self) -> QRectF:
        return self._renderer.viewBoxF()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.fillRect(self.boundingRect(), BACKDROP)
        self._renderer.render(painter, self.boundingRect())


class _View(QGraphicsView):
    """Keeps the whole picture in view at any window size; a click on a spot asks."""

    clicked = Signal(object)  # the Spot

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for item in self.items(event.position().toPoint()):
            if isinstance(item, Spot) and item.clickable:
                self.clicked.emit(item)
                return
        super().mousePressEvent(event)


class ReactorOverview(QWidget):
    """The picture at ``picture`` with the tags of ``sheet`` drawn live on it.

    ``write_requested(key, value)`` is emitted only after the operator confirmed and
    the value passed check_value; a refused entry is said in the message line.
    """

    write_requested = Signal(str, object)

    def __init__(
        self,
        sheet: ParameterSheet,
        picture: Path,
        *,
        confirm: Confirm,
        ask: AskValue = ask_value,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sheet = sheet
        self._confirm = confirm
        self._ask = ask
        self._alarms: dict[str, Priority] = {}
        self._renderer = QSvgRenderer(str(picture), self)
        self.scene = QGraphicsScene(self)
        self.scene.addItem(_Picture(self._renderer))
        self.scene.setSceneRect(self._renderer.viewBoxF())
        self.spots: dict[str, Spot] = {}
        for key, row in sheet.by_key.items():
            if not self._renderer.elementExists(key):
                continue
            bounds = self._renderer.transformForElement(key).mapRect(
                self._renderer.boundsOnElement(key)
            )
            spot = Spot(row.tag, bounds, clickable=row.tag.writable and row.tag.polled)
            self.scene.addItem(spot)
            self.spots[key] = spot
        self.view = _View(self.scene)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.view.clicked.connect(self._clicked)
        self.message = QLabel("Click a valve, a switch or a setpoint to change it.")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # -- live --------------------------------------------------------------------------

    @Slot(object)
    def show_alarms(self, board: AlarmBoard) -> None:
        self._alarms = marks(board)

    def refresh(self) -> int:
        """Draw every spot as the sheet has it now; how many changed."""
        return sum(
            spot.draw(look_of(self.sheet, self.sheet.by_key[key], self._alarms.get(key)))
            for key, spot in self.spots.items()
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: object) -> None:
        self._timer.stop()  # also when the window closes: no timer outlives the view

    @property
    def ticking(self) -> bool:
        return self._timer.isActive()

    # -- changes the operator asks for --------------------------------------------------

    def set_actor(self, actor: Actor | None) -> None:
        """The account at the window: the valves and setpoints it may not change show
        no hand and say why (the table's permission gate, ald_gui.ui.permission_gate)."""
        for spot in self.spots.values():
            if spot.clickable:
                permission = write_permission(spot.tag)
                may = allowed(actor, permission)
                spot.set_refusal("" if may else refusal_text(actor, permission))

    def _clicked(self, spot: Spot) -> None:
        tag = spot.tag
        if spot.refusal:  # no dialog that could only end in the engine's refusal
            self._say(f"Not changed: {spot.refusal}.")
            return
        if spot.kind is Kind.VALUE:
            self._ask_number(tag)
            return
        row = self.sheet.by_key[tag.key]
        if row.value is None or spot.look.stale:
            self._say(f"{tag.key} has no current value: nothing is changed while it is stale.")
            return
        turn_on = row.value == 0.0
        word = words(spot.kind, turn_on)
        title = (
            f"{'Open' if turn_on else 'Close'} {tag.component}?"
            if spot.kind is Kind.VALVE
            else (f"Switch {tag.component} {word}?")
        )
        if self._confirm(self, title, f"{tag.key}: {words(spot.kind, not turn_on)} → {word}"):
            self._send(tag, turn_on)

    def _ask_number(self, tag: Tag) -> None:
        row = self.sheet.by_key[tag.key]
        current = "" if row.value is None else self.sheet.value_text(row)
        text = self._ask(
            self, f"{tag.component}: {tag.name}", f"New value ({tag.unit or 'no unit'})", current
        )
        if text is None or not text.strip():
            return
        try:
            value = parse_entry(tag, text)
        except WriteRefused as exc:
            self._say(str(exc))
            return
        if self._confirm(
            self, f"Write {tag.key}?", f"{tag.key}: {current or '—'} → {with_unit(tag, value)}"
        ):
            self._send(tag, value)

    def _send(self, tag: Tag, value: float | int | bool) -> None:
        try:
            check_value(tag, value)
        except WriteRefused as exc:
            self._say(f"Not sent: {exc}")
            return
        shown = words(kind_of(tag), value) if isinstance(value, bool) else with_unit(tag, value)
        self._say(f"Asked: {tag.key} → {shown}")
        self.write_requested.emit(tag.key, value)

    def _say(self, text: str) -> None:
        self.message.setText(text)
