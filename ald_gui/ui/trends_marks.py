"""Run starts and ends as vertical lines on every plot of the trends, named in a band
above the plots.

A start reads "▶ run 1a2b3c4d (alice)", an end "■ run 1a2b3c4d completed": the text,
not only the colour, tells them apart. The text sits in a band of its own above the top
plot (canvas row 0, see PlotStack), never inside a plot where it would cover curves:
right of its line, or left of it near the right edge. Where two names would overlap the
newer one is shown. The band folds away while there is no mark.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QSizePolicy

from ald_gui.domain.stream import RunEnded, RunStarted, RunStatus
from ald_gui.ui.palette import curve_colour
from ald_gui.ui.trends_plots import PlotStack

__all__ = ["RunMark", "RunMarks"]

_START = 2  # bluish green in both palette variants
_END_BAD = 3  # vermillion: aborted or failed
_BAND_PX = 18  # the band's height: one line of 9 pt text
_GAP_PX = 4  # between a line and its name


@dataclass(slots=True)
class RunMark:
    at_s: float
    text: str
    colour_index: int | None  # None: the foreground colour (a run completed normally)
    lines: list[pg.InfiniteLine]
    label: QGraphicsSimpleTextItem


class RunMarks:
    """The marks on a PlotStack, oldest first, and the band naming them."""

    def __init__(self, stack: PlotStack) -> None:
        self._stack = stack
        self.marks: list[RunMark] = []
        self._foreground = "#888888"
        self._dark = True
        self.band = pg.GraphicsWidget()
        self.band.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.band.setFixedHeight(_BAND_PX)
        self.band.setFlag(self.band.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.band.setVisible(False)
        stack.canvas.addItem(self.band, row=0, col=0)
        self.band.geometryChanged.connect(self.relabel)
        # All plots share the time range (set_x_range, _sync_x): the first one tells.
        stack.plots[0].vb.sigXRangeChanged.connect(self.relabel)
        self._font = QFont()
        self._font.setPointSize(9)

    def add(self, item: RunStarted | RunEnded) -> RunMark:
        if isinstance(item, RunStarted):
            run = item.run
            who = f" ({run.operator})" if run.operator else ""
            at_s, text = run.started_at_us / 1e6, f"▶ run {str(run.id)[:8]}{who}"
            colour: int | None = _START
        else:
            bad = item.status in (RunStatus.ABORTED, RunStatus.FAILED)
            at_s, text = item.ended_at_us / 1e6, f"■ run {str(item.run_id)[:8]} {item.status}"
            colour = _END_BAD if bad else None
        label = QGraphicsSimpleTextItem(text, self.band)
        label.setFont(self._font)
        mark = RunMark(at_s, text, colour, [], label)
        for gp in self._stack.plots:
            line = pg.InfiniteLine(pos=mark.at_s, angle=90, movable=False)
            gp.plot.addItem(line, ignoreBounds=True)
            mark.lines.append(line)
        self.marks.append(mark)
        self._style(mark)
        self.relabel()
        return mark

    def prune(self, before_s: float) -> None:
        """Remove the marks older than ``before_s`` (history the trends no longer hold)."""
        while self.marks and self.marks[0].at_s < before_s:
            mark = self.marks.pop(0)
            for gp, line in zip(self._stack.plots, mark.lines, strict=True):
                gp.plot.removeItem(line)
            scene = mark.label.scene()
            if scene is not None:
                scene.removeItem(mark.label)  # PySide6 would not free it with its parent
        self.relabel()

    def relabel(self) -> None:
        """Place the names in the band over their lines, newest first; hide those
        outside the plots' time range or under a newer one."""
        self.band.setVisible(bool(self.marks))
        shown = self._stack.shown()
        if not self.marks or not shown:
            return
        vb = shown[0].vb
        data = self.band.mapRectFromScene(vb.sceneBoundingRect())
        lo, hi = vb.viewRange()[0]
        taken: list[QRectF] = []
        for mark in reversed(self.marks):
            label = mark.label
            if not lo <= mark.at_s <= hi:
                label.setVisible(False)
                continue
            x = self.band.mapFromScene(vb.mapViewToScene(QPointF(mark.at_s, 0))).x()
            width = label.boundingRect().width()
            left = x + _GAP_PX if x + _GAP_PX + width <= data.right() else x - _GAP_PX - width
            label.setPos(left, (_BAND_PX - label.boundingRect().height()) / 2)
            rect = label.mapRectToParent(label.boundingRect())
            label.setVisible(not any(rect.intersects(other) for other in taken))
            if label.isVisible():
                taken.append(rect)

    def apply_look(self, foreground: str, dark: bool) -> None:
        self._foreground, self._dark = foreground, dark
        for mark in self.marks:
            self._style(mark)

    def _style(self, mark: RunMark) -> None:
        colour = (
            self._foreground
            if mark.colour_index is None
            else curve_colour(mark.colour_index, dark=self._dark)
        )
        for line in mark.lines:
            line.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.SolidLine))
        mark.label.setBrush(QBrush(QColor(colour)))
