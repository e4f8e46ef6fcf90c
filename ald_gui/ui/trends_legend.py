"""A plot's legend in a column right of it: it never covers a curve or the live edge.

A pyqtgraph LegendItem in the canvas cell right of its plot instead of floating
inside the ViewBox, its entries one under another from the plot's top, in
more columns when they do not fit its height. Each entry, its sample and its name
alike, hides or shows its curve when clicked; a hidden curve's entry stays, its sample
an eye struck through (pyqtgraph's) and its name greyed, to click it back.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QSizePolicy

__all__ = ["LegendStrip"]

_ENTRY_GAP = 12  # px between one column's names and the next column's samples
_LINE = 22  # px per entry (a 9 pt name; pyqtgraph's samples are 20 px high)
_NAME_PX = 160  # longer names are cut short with "…" (the tooltip has them whole)
_INDENT = 6  # px between the plot and its legend


class LegendStrip(pg.LegendItem):  # type: ignore[misc]  # pyqtgraph has no types
    """The legend of one plot. ``sigSampleClicked(item)`` fires after a click on an
    entry has toggled its curve ``item`` (the sample's or the name's)."""

    def __init__(self) -> None:
        super().__init__(frame=False, labelTextSize="9pt", horSpacing=4)
        # The cell right of the plot holds this column, and the legend sizes itself in
        # it, as pyqtgraph's legends do: the column is as wide as the legend, and its
        # height is the plot's, whatever the entries would like (they go to more
        # columns instead, see fit), so a legend never makes its plot taller.
        self.column = pg.GraphicsWidget()
        self.column.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Ignored)
        self.column.setMinimumHeight(1)
        # Beyond a third of the canvas' width fit gives up adding columns; what does
        # not fit then is cut off (the Curves menu lists it still).
        self.column.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.setParentItem(self.column)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self._shown = QColor("#888888")
        self._hidden = QColor("#888888")
        self.sigSampleClicked.connect(lambda _item: self.shade())

    def updateSize(self) -> None:
        # As large as its layout asks, not pyqtgraph's sum of the entries' present
        # widths + 3 px each: that is 2 px a column more than the layout needs, the
        # names stretch into it, and the next sum is wider still. The column then
        # narrowed the plot, whose new geometry fitted the legend again: a layout
        # pass and a repaint on every event-loop turn, with no new data.
        size = self.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.setGeometry(_INDENT, 0, size.width(), size.height())
        self.column.setFixedWidth(_INDENT + size.width() + 2)

    def addItem(self, item: pg.PlotDataItem, name: str) -> None:
        super().addItem(item, name)
        label = self.items[-1][1]
        metrics = QFontMetrics(label.item.font())
        if metrics.horizontalAdvance(name) > _NAME_PX:
            label.setText(metrics.elidedText(name, Qt.TextElideMode.ElideRight, _NAME_PX))
            label.setToolTip(name)

    def hoverEvent(self, ev: object) -> None:
        pass  # not dragged around (pyqtgraph's legend accepts drags)

    def mouseDragEvent(self, ev: object) -> None:
        pass

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        """A click on an entry's name does what a click on its sample does."""
        for sample, label in self.items:
            if label.geometry().contains(ev.pos()):
                sample.mouseClickEvent(ev)  # toggles, accepts, emits sigSampleClicked
                return
        ev.ignore()

    def set_colours(self, shown: QColor, hidden: QColor) -> None:
        """Names of drawn curves in ``shown``, of hidden ones in ``hidden``."""
        self._shown, self._hidden = QColor(shown), QColor(hidden)
        self.shade()

    def shade(self) -> None:
        for sample, label in self.items:
            colour = self._shown if sample.item.isVisible() else self._hidden
            label.setText(label.text, color=colour)
            sample.update()

    def fit(self, height: float, widest: float) -> None:
        """Lay the entries out in as few columns as fit them in ``height`` px, but in
        no more than fit in ``widest`` px."""
        per_column = max(1, int(height // _LINE))
        columns = max(1, math.ceil(len(self.items) / per_column))
        entry = max(
            (s.width() + 4 + n.minimumWidth() + _ENTRY_GAP for s, n in self.items), default=1
        )
        columns = max(1, min(columns, int(widest // entry)))
        self.setColumnCount(columns)
        for column in range(1, 2 * columns - 1, 2):  # after each name but the last
            self.layout.setColumnSpacing(column, _ENTRY_GAP)
        self.updateSize()
