"""The live spots of the Overview: how a valve, a switch and a value are drawn.

Each state has its own shape and its own word as well as its colour (colour-blind
safe, readable in a photo): a valve OPEN is a filled bow-tie, CLOSED an empty one
crossed by a bar; a switch says ON or OFF; a value that is stale is grey, dashed and
says STALE; one out of range says HIGH or LOW; an alarm's priority shape sits on the
spot's corner. Colours are Okabe-Ito, as everywhere in the console.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ald_gui.domain.alarms import Priority
from ald_gui.domain.tags import Tag
from ald_gui.ui.alarm_look import look
from ald_gui.ui.live_look import Kind, Look, kind_of

OPEN_FILL = QColor("#009E73")  # bluish green
ON_FILL = QColor("#0072B2")  # blue
FAULT_FILL = QColor("#D55E00")  # vermillion
STALE = QColor("#8c8c8c")
INK = QColor("#1b2631")
PAPER = QColor("#ffffff")


class Spot(QGraphicsItem):
    """One tag drawn live at its place in the picture (``rect``, scene units)."""

    def __init__(self, tag: Tag, rect: QRectF, *, clickable: bool) -> None:
        super().__init__()
        self.tag = tag
        self.kind = kind_of(tag)
        self.rect = rect
        self.clickable = clickable
        self.look = Look()
        self.refusal = ""  # why the account at the window may not change it ("": it may)
        self.set_refusal("")

    @property
    def operable(self) -> bool:
        """A click changes it: it can be written, and by the account at the window."""
        return self.clickable and not self.refusal

    def set_refusal(self, refusal: str) -> None:
        """The account at the window lacks the permission (``refusal`` says which), or
        holds it (""): no hand cursor and the reason in the tooltip, or both back."""
        self.refusal = refusal
        if self.operable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(f"{self.tag.key}: click to change (asks first)")
        else:
            self.unsetCursor()
            self.setToolTip(f"{self.tag.key}: {refusal}" if self.clickable else self.tag.key)

    def draw(self, look: Look) -> bool:
        """Draw ``look`` from now on; True if it changed (and a repaint was asked)."""
        if look == self.look:
            return False
        self.look = look
        self.update()
        return True

    def boundingRect(self) -> QRectF:
        # Room below for the caption and at the top right for the alarm mark.
        r = self.rect
        return r.adjusted(-4, -12, 12, r.height() * 0.55 + 4)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        match self.kind:
            case Kind.VALVE:
                self._paint_valve(painter)
            case Kind.VALUE:
                self._paint_value(painter)
            case _:
                self._paint_switch(painter)
        if self.look.caption:
            self._paint_caption(painter)
        if self.look.alarm is not None:
            self._paint_alarm(painter, self.look.alarm)

    # -- shapes ----------------------------------------------------------------------

    def _outline(self) -> QPen:
        pen = QPen(STALE if self.look.stale else INK, 2.5)
        if self.look.stale:
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen

    def _paint_valve(self, painter: QPainter) -> None:
        r = self.rect
        vertical = r.height() > r.width()
        inner = r.adjusted(4, 4, -4, -4)
        body = QRectF(inner.left(), inner.top(), inner.width(), inner.height() * 0.72)
        c = body.center()
        if vertical:  # the pipe runs up and down: the bow-tie points up and down
            a = QPolygonF([body.topLeft(), body.topRight(), c])
            b = QPolygonF([body.bottomLeft(), body.bottomRight(), c])
        else:
            a = QPolygonF([body.topLeft(), body.bottomLeft(), c])
            b = QPolygonF([body.topRight(), body.bottomRight(), c])
        is_open = self.look.on is True
        fill = STALE if self.look.stale else (OPEN_FILL if is_open else PAPER)
        painter.setPen(self._outline())
        painter.setBrush(QBrush(fill))
        painter.drawPolygon(a)
        painter.drawPolygon(b)
        if self.look.on is False:  # closed: a bar across the flow, too
            painter.setPen(QPen(STALE if self.look.stale else INK, 4))
            if vertical:
                painter.drawLine(QPointF(body.left(), c.y()), QPointF(body.right(), c.y()))
            else:
                painter.drawLine(QPointF(c.x(), body.top()), QPointF(c.x(), body.bottom()))
        word = QRectF(r.left() - 20, body.bottom(), r.width() + 40, r.bottom() - body.bottom())
        self._text(painter, word, self.look.text, bold=True, colour=INK)

    def _paint_switch(self, painter: QPainter) -> None:
        r = self.rect.adjusted(1, 1, -1, -1)
        on = self.look.on is True
        if self.look.stale:
            fill, ink = PAPER, STALE
        elif on:
            fill, ink = (FAULT_FILL if self.kind is Kind.FAULT else ON_FILL), PAPER
        else:
            fill, ink = PAPER, INK
        painter.setPen(self._outline())
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
        self._text(painter, r, self.look.text, bold=True, colour=ink)

    def _paint_value(self, painter: QPainter) -> None:
        r = self.rect.adjusted(1, 1, -1, -1)
        pen = self._outline()
        if self.look.caption and not self.look.stale:
            pen = QPen(FAULT_FILL, 3.5)  # out of range: the frame says so too
        if self.clickable:  # a setpoint: dotted, like a field to fill in
            pen.setStyle(Qt.PenStyle.DotLine if not self.look.stale else Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QBrush(PAPER))
        painter.drawRoundedRect(r, 6, 6)
        ink = STALE if self.look.stale else INK
        self._text(painter, r.adjusted(4, 0, -4, 0), self.look.text, bold=True, colour=ink)

    def _paint_caption(self, painter: QPainter) -> None:
        r = self.rect
        below = QRectF(r.left() - 10, r.bottom() + 1, r.width() + 20, r.height() * 0.5)
        colour = STALE if self.look.stale else FAULT_FILL
        self._text(painter, below, self.look.caption, bold=True, colour=colour)

    def _paint_alarm(self, painter: QPainter, priority: Priority) -> None:
        shape = look(priority)
        corner = QRectF(self.rect.right() - 8, self.rect.top() - 12, 20, 20)
        self._text(painter, corner, shape.shape, bold=True, colour=QColor(shape.colour))

    def _text(self, painter: QPainter, r: QRectF, text: str, *, bold: bool, colour: QColor) -> None:
        font = QFont()
        font.setBold(bold)
        font.setPixelSize(max(9, int(min(r.height() * 0.62, 26))))
        # Shrink a long text to its box rather than cut it off.
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text)
        if width > r.width() > 0:
            font.setPixelSize(max(8, int(font.pixelSize() * r.width() / width)))
            painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
