"""A plot's legend as a strip above it: it never covers a curve or the live edge.

A pyqtgraph LegendItem laid out in the canvas row above its plot instead of floating
inside the ViewBox, its entries side by side from the left end of the plot's data area,
wrapping onto more lines when they do not fit its width. Each entry, its sample and its
name alike, hides or shows its curve when clicked; a hidden curve's entry stays, its
sample an eye struck through (pyqtgraph's) and its name greyed, to click it back.
"""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSizePolicy

__all__ = ["LegendStrip"]

_ENTRY_GAP = 18  # px between one entry's name and the next entry's sample


class LegendStrip(pg.LegendItem):  # type: ignore[misc]  # pyqtgraph has no types
    """The legend strip of one plot. ``sigSampleClicked(item)`` fires after a click on
    an entry has toggled its curve ``item`` (the sample's or the name's)."""

    def __init__(self) -> None:
        super().__init__(frame=False, labelTextSize="9pt", horSpacing=4)
        # As tall as its lines of entries, no taller; never wider than they need.
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        # Nor does it hold its plot wide: narrowed, the plot re-fits it (fit) onto more
        # lines, which it could not if its present line were its minimum width.
        self.setMinimumWidth(1)
        self._shown = QColor("#888888")
        self._hidden = QColor("#888888")
        self._room = 0.0  # width the entries may take (set by fit)
        self.sigSampleClicked.connect(lambda _item: self.shade())

    def updateSize(self) -> None:
        # pyqtgraph sizes a floating legend by hand (setGeometry at 0, 0); in a layout
        # the layout places it: only tell the layout that the size hint changed.
        self.updateGeometry()

    def hoverEvent(self, ev: object) -> None:
        pass  # a strip is not dragged around (pyqtgraph's legend accepts drags)

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

    def fit(self, room: float, indent: float) -> None:
        """Lay the entries out in as many columns as fit in ``room`` px, starting
        ``indent`` px from the strip's left (the plot's axis width)."""
        self._room = room
        self.layout.setContentsMargins(indent, 4, 0, 0)  # nearer its own plot
        widest = max(
            (sample.width() + 4 + label.minimumWidth() for sample, label in self.items),
            default=1.0,
        )
        columns = max(1, min(len(self.items), int((room - indent) // (widest + _ENTRY_GAP))))
        self.setColumnCount(columns)
        for column in range(1, 2 * columns - 1, 2):  # after each name but the last
            self.layout.setColumnSpacing(column, _ENTRY_GAP)
