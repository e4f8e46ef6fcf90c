"""A run report's plot: the curves of one unit over the run, drawn with QPainter into a
PNG. No widget and no pyqtgraph item (made and dropped per report, plot items leak on
PySide6): a QImage paints on any thread, so a report renders off the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF

from ald_gui.store.run_report import Curve
from ald_gui.ui.recipe_words import duration_text

__all__ = ["COLOURS", "plot_png"]

# Distinguishable on white and in greyscale print, in this order.
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f")
_LEFT, _RIGHT, _TOP, _BOTTOM = 150, 20, 40, 44


def _number(v: float, step: float) -> str:
    """``v`` with enough digits that ticks ``step`` apart read differently."""
    digits = 2 + max(0, math.ceil(math.log10(max(abs(v), step) / step)))
    return f"{v:.{digits}g}"


def plot_png(
    curves: Sequence[Curve],
    unit: str,
    start_us: int,
    end_us: int,
    width: int = 1200,
    height: int = 290,
) -> bytes:
    """PNG bytes of ``curves`` (one unit) against the time since the run's start: each
    column's low-high envelope joined up, the value and time axes; the curves' colours
    are COLOURS in their order (the page writes the legend)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(22)
    painter.setFont(font)
    area = QRectF(_LEFT, _TOP, width - _LEFT - _RIGHT, height - _TOP - _BOTTOM)
    low = min(min(c.low) for c in curves)
    high = max(max(c.high) for c in curves)
    if high - low < 1e-9 * max(1.0, abs(high)):
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    span = max(1, end_us - start_us)

    def x(at: int) -> float:
        return area.left() + area.width() * (at - start_us) / span

    def y(v: float) -> float:
        return area.bottom() - area.height() * (v - low) / (high - low)

    grid = QPen(QColor("#dddddd"))
    text = QPen(QColor("#333333"))
    for i in range(5):
        v = low + (high - low) * i / 4
        painter.setPen(grid)
        painter.drawLine(QPointF(area.left(), y(v)), QPointF(area.right(), y(v)))
        painter.setPen(text)
        painter.drawText(
            QRectF(0, y(v) - 14, _LEFT - 8, 28),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            _number(v, (high - low) / 4),
        )
    for i in range(6):
        at = start_us + span * i // 5
        painter.setPen(grid)
        painter.drawLine(QPointF(x(at), area.top()), QPointF(x(at), area.bottom()))
        painter.setPen(text)
        painter.drawText(
            QRectF(x(at) - 80, area.bottom() + 6, 160, 30),
            Qt.AlignmentFlag.AlignHCenter,
            duration_text((at - start_us) / 1e6),
        )
    painter.drawText(QRectF(8, 6, 300, 30), Qt.AlignmentFlag.AlignLeft, unit or "(no unit)")
    painter.setPen(QPen(QColor("#888888")))
    painter.drawRect(area)

    for curve, colour in zip(curves, COLOURS, strict=False):
        points = QPolygonF()
        for at, lo, hi in zip(curve.at_us, curve.low, curve.high, strict=True):
            points.append(QPointF(x(at), y(lo)))
            if hi != lo:
                points.append(QPointF(x(at), y(hi)))
        painter.setPen(QPen(QColor(colour), 2.5))
        painter.drawPolyline(points)
    painter.end()

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stub says bytes; it takes str
    buffer.close()
    return bytes(data.data())
