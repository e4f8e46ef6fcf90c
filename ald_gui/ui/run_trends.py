"""A past run's trends: the tags chosen in a checkable list, drawn from the database on
one plot, in seconds from the run's start, with a line at the start of every cycle.

The plot, its curves (one per plotted tag) and the cycle lines' pool are made once and
only fed afterwards (pyqtgraph leaks PlotItems recreated on PySide6). The data comes
from the run page's reader; this widget only paints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QWidget

from ald_gui.store.history import Series
from ald_gui.store.run_curves import TagInfo
from ald_gui.ui.palette import curve_colour

__all__ = ["RunTrends"]

FIRST_SHOWN = 4  # tags ticked when a run's tags are first listed


class RunTrends(QWidget):
    chosen_changed = Signal()  # the ticked tags changed: their data is wanted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tags = QListWidget()
        self.tags.setMaximumWidth(300)
        self.tags.itemChanged.connect(lambda _: self.chosen_changed.emit())
        self.canvas = pg.PlotWidget()  # pyqtgraph's black background: the dark colours
        self.plot: pg.PlotItem = self.canvas.getPlotItem()
        self.plot.setLabel("bottom", "seconds from the run's start")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.legend = self.plot.addLegend(offset=(8, 4))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._labels: dict[str, str] = {}
        self._cycle_lines: list[pg.InfiniteLine] = []
        layout = QHBoxLayout(self)
        layout.addWidget(self.tags)
        layout.addWidget(self.canvas, 1)

    def list_tags(self, tags: Sequence[TagInfo]) -> None:
        """The tags a run can show; the first plotted ones ticked, the first time only."""
        if self.tags.count():
            return
        self.tags.blockSignals(True)
        ticked = [t.key for t in tags if t.plotted][:FIRST_SHOWN]
        for n, tag in enumerate(tags):
            item = QListWidgetItem(tag.label)
            item.setData(Qt.ItemDataRole.UserRole, tag.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if tag.key in ticked else Qt.CheckState.Unchecked
            )
            self.tags.addItem(item)
            # Named in the legend only while shown (show_curves).
            curve = pg.PlotDataItem(pen=pg.mkPen(curve_colour(n, dark=True), width=1))
            curve.setSkipFiniteCheck(True)
            curve.setVisible(False)
            self.plot.addItem(curve)
            self.curves[tag.key] = curve
            self._labels[tag.key] = tag.label
        self.tags.blockSignals(False)

    def width_px(self) -> int:
        """How many pixel columns the curves have (what history reduces to)."""
        return max(200, int(self.canvas.width()))

    def chosen(self) -> list[str]:
        """The ticked tags' keys, in list order."""
        items = (self.tags.item(i) for i in range(self.tags.count()))
        return [
            i.data(Qt.ItemDataRole.UserRole)
            for i in items
            if i.checkState() == Qt.CheckState.Checked
        ]

    def show_curves(
        self, series: Mapping[str, Series], start_us: int, cycle_starts_us: Sequence[int]
    ) -> None:
        """Draw ``series`` (the ticked tags; any other tag is hidden) against seconds
        from ``start_us``, with a line at every cycle start."""
        self.legend.clear()
        for key, curve in self.curves.items():
            s = series.get(key)
            curve.setVisible(s is not None)
            if s is None:
                curve.setData([], [])
                continue
            self.legend.addItem(curve, self._labels[key])
            x = (s.t_us - np.int64(start_us)).astype(np.float64) / 1e6
            curve.setData(x, s.values)
        while len(self._cycle_lines) < len(cycle_starts_us):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((150, 150, 150), width=1))
            self.plot.addItem(line)
            self._cycle_lines.append(line)
        for n, line in enumerate(self._cycle_lines):
            if n < len(cycle_starts_us):
                line.setPos((cycle_starts_us[n] - start_us) / 1e6)
            line.setVisible(n < len(cycle_starts_us))
        self.plot.enableAutoRange()

    def data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """What the curve of ``key`` was given: seconds from the start, values (all of
        it; getData would give only what is in view)."""
        curve = self.curves[key]
        if curve.xData is None:
            return np.asarray([]), np.asarray([])
        return curve.xData, curve.yData
